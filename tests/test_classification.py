"""SPEC 3.5 classification: levels, labels, global floors, unknown levels."""

from __future__ import annotations

import pytest

from governance import LoadError
from governance.rules.classification import Classifier
from tests.treebuilder import TreeBuilder, column, request


def rule(rid, level, labels=(), **match):
    return {"id": rid, "match": match, "level": level, "labels": list(labels)}


def classify(tree, product="sales.orders"):
    """The decision's classification of every column (the product is always readable here)."""
    d = tree.engine().decide(request(product=product, columns=[])).to_dict(all_columns=True)
    return d["classification"]


@pytest.fixture
def tree(tmp_path):
    t = TreeBuilder(tmp_path)
    t.cedar("global", '@id("all")\npermit (principal, action, resource);\n')
    return t


# --- column level = max(global rule, domain rule, declaration) -------------------------------


def test_column_level_from_global_rule(tree):
    tree.classification("global", [rule("emails", "confidential", columns=["*email*"])])
    tree.classification("sales", [rule("ids", "internal", columns=["*email*"])])
    tree.product("sales.orders", [column("email", "internal")])
    col = classify(tree)["columns"]["email"]
    assert col["level"] == "confidential"
    assert [s["rule"] for s in col["sources"]] == ["global/emails"]


def test_column_level_from_domain_rule(tree):
    tree.classification("global", [rule("emails", "internal", columns=["*email*"])])
    tree.classification("sales", [rule("customer-emails", "restricted", columns=["email"])])
    tree.product("sales.orders", [column("email", "confidential")])
    col = classify(tree)["columns"]["email"]
    assert col["level"] == "restricted"
    assert [s["rule"] for s in col["sources"]] == ["sales/customer-emails"]
    assert col["sources"][0]["layer"] == "sales"


def test_column_level_from_declaration(tree):
    tree.classification("global", [rule("emails", "internal", columns=["*email*"])])
    tree.classification("sales", [rule("also", "internal", columns=["email"])])
    tree.product("sales.orders", [column("email", "confidential")])
    col = classify(tree)["columns"]["email"]
    assert col["level"] == "confidential"
    assert [s["rule"] for s in col["sources"]] == ["sales/declared"]


def test_column_rule_by_tag_and_glob_is_case_insensitive(tree):
    tree.classification(
        "global",
        [rule("contact", "confidential", columns=["*EMAIL*"]),
         rule("tagged", "restricted", tags=["secret"])],
    )  # fmt: skip
    tree.product("sales.orders", ["Customer_Email", column("note", tags=["secret"]), "order_id"])
    cols = classify(tree)["columns"]
    assert cols["Customer_Email"]["level"] == "confidential"
    assert cols["note"]["level"] == "restricted"
    assert cols["order_id"]["level"] == "public"


def test_labels_are_the_union_of_matching_rules(tree):
    tree.classification("global", [rule("emails", "confidential", ["pii"], columns=["*email*"])])
    tree.classification("sales", [rule("contact", "internal", ["contact"], columns=["email"])])
    tree.product("sales.orders", ["email", "order_id"])
    result = classify(tree)
    assert result["columns"]["email"]["labels"] == ["contact", "pii"]
    assert result["columns"]["order_id"]["labels"] == []
    assert set(result["labels"]) >= {"contact", "pii"}


# --- product level = max(declared, product rules, highest column) ----------------------------


def test_product_level_from_highest_column(tree):
    tree.product(
        "sales.orders",
        [column("a", "internal"), column("b", "restricted")],
        classification="internal",
    )
    assert classify(tree)["level"] == "restricted"


def test_product_level_from_declaration(tree):
    tree.product("sales.orders", [column("a", "internal")], classification="confidential")
    result = classify(tree)
    assert result["level"] == "confidential"
    assert [s["rule"] for s in result["sources"]] == ["sales/declared"]


def test_product_level_from_product_rule(tree):
    tree.classification("global", [rule("finance-tagged", "confidential", product_tags=["money"])])
    tree.product("sales.orders", [column("a", "internal")], tags=["money"])
    tree.product("sales.stores", [column("a", "internal")])
    result = classify(tree)
    assert result["level"] == "confidential"
    assert [s["rule"] for s in result["sources"]] == ["global/finance-tagged"]
    # a product rule targets the product, not its columns
    assert result["columns"]["a"]["level"] == "internal"
    assert classify(tree, "sales.stores")["level"] == "internal"


def test_product_without_any_source_is_lowest_level(tree):
    tree.product("sales.orders", ["a"])
    result = classify(tree)
    assert result["level"] == "public"
    assert result["columns"]["a"]["level"] == "public"


def test_custom_scale_orders_levels(tmp_path):
    t = TreeBuilder(tmp_path, levels=["open", "secret", "top-secret"])
    t.cedar("global", '@id("all")\npermit (principal, action, resource);\n')
    t.product("sales.orders", [column("a", "top-secret"), column("b", "secret")])
    d = t.engine().decide(request(columns=[])).to_dict(all_columns=True)["classification"]
    assert d["level"] == "top-secret"
    assert d["columns"]["b"]["level"] == "secret"


# --- global floors ---------------------------------------------------------------------------


def _floor_findings(tree):
    loaded, problems = tree.load()
    assert [p for p in problems if p.severity == "error"] == []
    classifier = Classifier(loaded)
    return [f for p in loaded.products().values() for f in classifier.floor_findings(p)]


def test_domain_rule_below_floor_has_no_effect_and_is_reported(tree):
    tree.classification("global", [rule("emails", "confidential", columns=["*email*"])])
    path = tree.classification("sales", [rule("lower-emails", "public", columns=["email"])])
    tree.product("sales.orders", ["email"])
    assert classify(tree)["columns"]["email"]["level"] == "confidential"
    [finding] = _floor_findings(tree)
    assert finding.code == "below-global-floor"
    assert finding.severity == "warning"
    assert finding.location.file == tree.rel("domains/sales/classification.yaml")
    assert finding.location.line == 2  # the rule's own line (`rules:` is line 1)
    assert "sales/lower-emails" in finding.message
    assert "global/emails" in finding.message
    assert path.exists()


def test_declaration_below_floor_has_no_effect_and_is_reported(tree):
    tree.classification("global", [rule("emails", "confidential", columns=["*email*"])])
    tree.product("sales.orders", ["order_id", column("email", "internal")])
    assert classify(tree)["columns"]["email"]["level"] == "confidential"
    [finding] = _floor_findings(tree)
    assert finding.code == "below-global-floor"
    assert "sales/declared" in finding.message
    assert finding.location.file == tree.rel("domains/sales/products/orders.yaml")


def test_raising_above_the_floor_is_not_reported(tree):
    tree.classification("global", [rule("emails", "internal", columns=["*email*"])])
    tree.classification("sales", [rule("emails", "restricted", columns=["email"])])
    tree.product("sales.orders", [column("email", "confidential")])
    assert classify(tree)["columns"]["email"]["level"] == "restricted"
    assert _floor_findings(tree) == []


def test_product_declaration_below_global_product_floor_is_reported(tree):
    tree.classification("global", [rule("money", "confidential", product_tags=["money"])])
    tree.product("sales.orders", ["a"], tags=["money"], classification="public")
    assert classify(tree)["level"] == "confidential"  # no effect ...
    assert [f.code for f in _floor_findings(tree)] == ["below-global-floor"]  # ... but reported


# --- unknown levels --------------------------------------------------------------------------


def test_unknown_level_in_rule_is_a_located_load_error(tree):
    tree.classification(
        "sales",
        """\
        rules:
          - id: ok
            match: {columns: [a]}
            level: internal
          - id: typo
            match: {columns: [b]}
            level: secret
        """,
    )
    tree.product("sales.orders", ["a", "b"])
    with pytest.raises(LoadError) as exc:
        tree.engine()
    [problem] = [p for p in exc.value.problems if p.code == "unknown-level"]
    assert problem.location.file == tree.rel("domains/sales/classification.yaml")
    assert problem.location.line == 5  # the offending rule
    assert "typo" in problem.message
    assert "secret" in problem.message


def test_unknown_level_in_declarations_is_a_load_error(tree):
    tree.product("sales.orders", [column("a", "topsecret")], classification="hush")
    problems = tree.load()[1]
    unknown = [p for p in problems if p.code == "unknown-level"]
    assert len(unknown) == 2
    assert {p.location.file for p in unknown} == {tree.rel("domains/sales/products/orders.yaml")}
    assert all(p.location.line > 0 for p in unknown)
    with pytest.raises(LoadError):
        tree.engine()
