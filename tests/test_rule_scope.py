"""The scope rule covers every file: a domain's rules, holds and waiver narrowing name only its
own products, and a product's id and contract name only the domain whose folder holds it."""

from __future__ import annotations

import pytest

from governance import LoadError
from tests.test_waivers import GUARDRAILS, waiver
from tests.treebuilder import TreeBuilder, errors


@pytest.fixture
def tree(tmp_path):
    t = TreeBuilder(tmp_path)
    t.cedar("global", GUARDRAILS, "guardrails.cedar")
    t.product("sales.orders", ["order_id", "amount"])
    t.product("finance.ledger", ["entry_id", "amount"])
    return t


def violations(tree: TreeBuilder, code: str = "scope-violation") -> list:
    return [p for p in errors(tree.load()[1]) if p.code == code]


def classification_rule(products: list[str]) -> dict:
    return {"id": "amounts", "match": {"columns": ["amount"], "products": products},
            "level": "confidential"}  # fmt: skip


@pytest.mark.parametrize(
    ("glob", "named"),
    [("finance.ledger", "finance"), ("finance.*", "finance"), ("*.ledger", "finance"),
     ("fin*", "finance"), ("logistics.*", "logistics")],
)  # fmt: skip
def test_domain_classification_rule_naming_other_products_is_located(tree, glob, named):
    tree.classification("sales", [classification_rule([glob])])
    [problem] = violations(tree)
    assert problem.location.file == tree.rel("domains/sales/classification.yaml")
    assert problem.location.line == 2
    assert f"domain `{named}`" in problem.message and "sales/amounts" in problem.message
    with pytest.raises(LoadError):
        tree.engine()


@pytest.mark.parametrize("glob", ["sales.orders", "sales.*", "*", "*orders", "s*"])
def test_domain_classification_rule_within_its_domain_is_fine(tree, glob):
    tree.classification("sales", [classification_rule([glob])])
    assert violations(tree) == []


def test_global_rules_may_name_any_domain(tree):
    tree.classification("global", [classification_rule(["finance.*", "sales.orders"])])
    tree.retention("global", [{"id": "r", "min": "P1Y", "applies_to": {"domains": ["finance"]}}])
    assert errors(tree.load()[1]) == []


def test_domain_retention_rule_naming_another_domain_or_its_products(tree):
    tree.retention(
        "sales",
        [{"id": "mine", "min": "P1Y", "applies_to": {"domains": ["sales"], "products": ["sales.*"]}},
         {"id": "theirs", "min": "P9Y", "applies_to": {"domains": ["finance"]}},
         {"id": "ledger", "max": "P1Y", "applies_to": {"products": ["finance.ledger"]}}],
    )  # fmt: skip
    found = violations(tree)
    assert sorted(p.message.split("`")[1] for p in found) == ["sales/ledger", "sales/theirs"]
    assert all(p.location.file == tree.rel("domains/sales/retention.yaml") for p in found)


def test_domain_legal_hold_naming_another_domain(tree):
    hold = {"id": "h", "reason": "audit", "applies_to": {"products": ["finance.*"]}}
    tree.retention("sales", [], holds=[hold])
    [problem] = violations(tree)
    assert "legal hold `sales/h`" in problem.message


def test_domain_masking_rule_naming_another_domains_products(tree):
    rule = {"id": "m", "strategy": "null", "match": {"products": ["finance.ledger"]}}
    tree.masking("sales", [rule])
    [problem] = violations(tree)
    assert "masking rule `sales/m`" in problem.message


def test_waiver_narrowed_to_another_domains_products(tree):
    tree.product("marketing.audiences", ["audience_id"])
    tree.waivers([waiver(products=["sales.orders"]), waiver("own", products=["marketing.*"])])
    [problem] = violations(tree)
    assert "waiver `campaign-export` for domain `marketing`" in problem.message
    assert problem.location.file == tree.rel("global/waivers.yaml")


def test_product_id_of_another_domain_is_an_error_at_the_id(tree):
    tree.write("domains/sales/products/ledger.yaml", "id: finance.books\nschema: []\n")
    [problem] = violations(tree, "bad-product-id")
    assert problem.location.line == 1
    assert "must begin with its domain: `sales.<name>`" in problem.message


def test_product_id_with_a_slash_is_an_error(tree):
    tree.write("domains/sales/products/a.yaml", "apiVersion: v3.0.2\nid: sales.a/b\n")
    [problem] = violations(tree, "bad-product-id")
    assert problem.location.line == 2 and "`/`" in problem.message


def test_contract_id_that_is_no_product_id_names_the_product_by_its_file(tree):
    tree.write("domains/sales/products/returns.yaml", "id: 53581432-6c55-4ba2-a65f-72344a91553a\n")
    loaded, problems = tree.load()
    assert errors(problems) == []
    assert loaded.products()["sales.returns"].domain == "sales"


def test_contract_domain_of_another_domain_is_an_error_at_the_key(tree):
    tree.write(
        "domains/sales/products/x.yaml", "id: sales.x\nkind: DataContract\ndomain: finance\n"
    )
    [problem] = violations(tree, "domain-mismatch")
    assert problem.location.file == tree.rel("domains/sales/products/x.yaml")
    assert problem.location.line == 3 and "`finance`" in problem.message


def test_contract_without_domain_takes_its_folder(tree):
    tree.write("domains/sales/products/x.yaml", "id: sales.x\n")
    loaded, problems = tree.load()
    assert errors(problems) == []
    assert loaded.products()["sales.x"].domain == "sales"
