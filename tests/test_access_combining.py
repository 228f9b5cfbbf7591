"""SPEC 3.3 / 3.4: the access combining algorithm and column masks, on tiny synthetic trees."""

from __future__ import annotations

import json

import pytest

from tests.treebuilder import TreeBuilder, column, request

GUARDRAIL = """\
// global guardrails
@id("no-confidential-export")
@reason("Confidential data never leaves the platform.")
forbid (principal, action == Action::"export", resource)
when { resource.sensitivity >= 2 };
"""

DOMAIN_GRANTS = """\
@id("analysts-read")
@reason("Sales analysts read sales data.")
permit (principal in Group::"analysts", action in [Action::"read", Action::"export"], resource);
"""


@pytest.fixture
def tree(tmp_path):
    t = TreeBuilder(tmp_path)
    t.product("sales.orders", ["order_id", column("email", "confidential")])
    t.cedar("global", GUARDRAIL, "guardrails.cedar")
    t.cedar("sales", DOMAIN_GRANTS, "grants.cedar")
    return t


def test_forbid_beats_permit(tree):
    decision = tree.engine().decide(request(action="export", groups=["analysts"]))
    assert not decision.allowed
    access = decision.to_dict()["access"]
    assert access["effect"] == "deny"
    assert access["kind"] == "forbidden"
    # only the forbid determines a forbidden decision, the satisfied permit is not named
    assert [p["id"] for p in access["policies"]] == ["global/no-confidential-export"]


def test_permit_only_allows(tree):
    decision = tree.engine().decide(request(action="read", groups=["analysts"], columns=[]))
    assert decision.allowed
    access = decision.to_dict()["access"]
    assert access["kind"] == "permitted"
    assert access["effect"] == "allow"
    assert [p["id"] for p in access["policies"]] == ["sales/analysts-read"]


def test_nothing_matches_is_not_permitted(tree):
    decision = tree.engine().decide(request(action="read", groups=["strangers"]))
    assert not decision.allowed
    access = decision.to_dict()["access"]
    assert access["kind"] == "not_permitted"
    assert access["policies"] == []
    assert access["errors"] == []


def test_determining_policy_is_fully_named(tree):
    d = tree.engine().decide(request(action="export", groups=["analysts"])).to_dict()
    [policy] = d["access"]["policies"]
    assert policy == {
        "id": "global/no-confidential-export",
        "layer": "global",
        "effect": "forbid",
        # the statement starts at its first annotation, line 2 (line 1 is a comment)
        "source": "global/access/guardrails.cedar:2:1",
        "reason": "Confidential data never leaves the platform.",
    }
    d = tree.engine().decide(request(action="read", groups=["analysts"], columns=[])).to_dict()
    [policy] = d["access"]["policies"]
    assert policy["id"] == "sales/analysts-read"
    assert policy["layer"] == "sales"
    assert policy["source"] == "domains/sales/access/grants.cedar:1:1"
    assert policy["reason"] == "Sales analysts read sales data."
    assert "policy0" not in json.dumps(d)


def test_all_satisfied_permits_are_named(tree):
    tree.cedar(
        "global",
        '@id("everyone-reads")\npermit (principal, action == Action::"read", resource);\n',
        "baseline.cedar",
    )
    d = tree.engine().decide(request(action="read", groups=["analysts"], columns=[])).to_dict()
    assert {p["id"] for p in d["access"]["policies"]} == {
        "global/everyone-reads",
        "sales/analysts-read",
    }


def test_erroring_policy_is_skipped_and_reported(tmp_path):
    t = TreeBuilder(tmp_path)
    t.product("sales.orders", ["order_id"])
    # `clearance` is required by the schema, so this validates; clearance 3 overflows a Long.
    t.cedar(
        "sales",
        '@id("cleared-read")\n'
        'permit (principal, action == Action::"read", resource)\n'
        "when { principal.clearance * 3074457345618258603 >= 1 };\n",
    )
    engine = t.engine()
    decision = engine.decide(request(action="read", clearance=3))
    assert not decision.allowed  # an errored permit cannot grant
    access = decision.to_dict()["access"]
    assert access["kind"] == "not_permitted"
    assert [e["policy"] for e in access["errors"]] == ["sales/cleared-read"]
    assert "overflow" in access["errors"][0]["message"]  # the error says why
    # where it evaluates the same policy grants, and nothing is reported
    ok = engine.decide(request(action="read", clearance=2)).to_dict()["access"]
    assert ok["kind"] == "permitted"
    assert ok["errors"] == []


def _erroring_forbid_tree(tmp_path, on_forbid_error=None):
    t = TreeBuilder(tmp_path, on_forbid_error=on_forbid_error)
    t.product("sales.orders", ["order_id", column("salary", "confidential")])
    t.cedar(
        "global",
        '@id("low-clearance")\n'
        "forbid (principal, action, resource)\n"
        "when { principal.clearance * 3074457345618258603 < 1 };\n"  # overflows at clearance 3
        '@id("overflowing-column-guardrail")\n'
        "forbid (principal, action, resource is Column)\n"
        "when { resource.sensitivity >= 2 && principal.clearance * 9223372036854775807 < 0 };\n",
    )
    t.cedar("sales", '@id("all-read")\npermit (principal, action == Action::"read", resource);\n')
    return t


@pytest.mark.parametrize("evaluator", ["compiled", "reference"])
def test_erroring_forbid_is_skipped_when_the_tree_says_skip(tmp_path, evaluator):
    t = _erroring_forbid_tree(tmp_path, "skip")
    d = t.engine(evaluator=evaluator).decide(request(action="read", clearance=3)).to_dict()
    assert d["allowed"] is True
    assert d["access"]["kind"] == "permitted"
    assert [e["policy"] for e in d["access"]["errors"]] == ["global/low-clearance"]
    assert d["masks"] == []  # Cedar's rule: the errored column guardrail takes no part


@pytest.mark.parametrize("evaluator", ["compiled", "reference"])
def test_erroring_forbid_denies_by_default_and_says_which_guardrail(tmp_path, evaluator):
    t = _erroring_forbid_tree(tmp_path)
    decision = t.engine(evaluator=evaluator).decide(request(action="read", clearance=3))
    d = decision.to_dict()
    assert d["allowed"] is False
    assert d["access"]["kind"] == "forbidden"
    assert [p["id"] for p in d["access"]["policies"]] == ["global/low-clearance"]
    assert [e["policy"] for e in d["access"]["errors"]] == ["global/low-clearance"]
    assert "`global/low-clearance` could not be evaluated" in decision.reason
    assert "clearance" in decision.reason  # the error says why


@pytest.mark.parametrize("evaluator", ["compiled", "reference"])
def test_a_column_whose_forbid_errors_is_masked_and_reports_the_error(tmp_path, evaluator):
    t = _erroring_forbid_tree(tmp_path)
    d = t.engine(evaluator=evaluator).decide(request(action="read", clearance=2)).to_dict()
    assert d["allowed"] is True
    [mask] = d["masks"]
    assert mask["column"] == "salary"
    assert mask["kind"] == "forbidden"
    assert [p["id"] for p in mask["policies"]] == ["global/overflowing-column-guardrail"]
    assert [e["policy"] for e in mask["errors"]] == ["global/overflowing-column-guardrail"]
    assert "overflow" in mask["errors"][0]["message"]


def test_global_forbid_and_no_permit_read_differently(tree):
    engine = tree.engine()
    forbidden = engine.decide(request(action="export", groups=["analysts"])).to_dict()["reason"]
    not_permitted = engine.decide(request(action="read", groups=["x"])).to_dict()["reason"]
    assert forbidden != not_permitted
    assert "global guardrail" in forbidden
    assert "global/no-confidential-export" in forbidden
    assert "Confidential data never leaves the platform." in forbidden
    assert "not permitted by any policy" in not_permitted
    assert "guardrail" not in not_permitted


def test_domain_forbid_reads_as_domain_policy(tree):
    tree.cedar(
        "sales",
        '@id("no-delete")\n@reason("Orders are immutable.")\n'
        'forbid (principal, action == Action::"delete", resource);\n',
        "restrictions.cedar",
    )
    d = tree.engine().decide(request(action="delete", groups=["analysts"])).to_dict()
    assert d["access"]["kind"] == "forbidden"
    assert "global guardrail" not in d["reason"]
    assert "sales/no-delete" in d["reason"]


# --- column masks (SPEC 3.4) -----------------------------------------------------------------

MASK_GUARDRAIL = """\
@id("hide-confidential-columns")
@reason("Confidential columns are masked.")
forbid (principal, action, resource is Column) when { resource.sensitivity >= 2 };
"""


@pytest.fixture
def masked(tmp_path):
    t = TreeBuilder(tmp_path)
    t.product(
        "sales.orders",
        [
            column("order_id", "public"),
            column("region", "internal"),
            column("email", "confidential"),
            column("card", "restricted"),
        ],
    )
    t.cedar("global", MASK_GUARDRAIL, "masks.cedar")
    t.cedar("sales", DOMAIN_GRANTS, "grants.cedar")
    return t


def test_denied_column_becomes_mask_naming_the_policy(masked):
    d = (
        masked.engine()
        .decide(request(groups=["analysts"], columns=["order_id", "region", "email"]))
        .to_dict()
    )
    assert d["allowed"] is True
    assert d["access"]["kind"] == "permitted"
    [mask] = d["masks"]
    assert mask["column"] == "email"
    assert mask["level"] == "confidential"
    assert mask["kind"] == "forbidden"
    [policy] = mask["policies"]
    assert policy["id"] == "global/hide-confidential-columns"
    assert policy["source"] == "global/access/masks.cedar:1:1"
    assert policy["reason"] == "Confidential columns are masked."


def test_public_columns_are_never_evaluated(tmp_path):
    t = TreeBuilder(tmp_path)
    t.product("sales.orders", [column("order_id", "public"), column("email", "confidential")])
    t.cedar("global", '@id("no-columns")\nforbid (principal, action, resource is Column);\n')
    t.cedar("sales", DOMAIN_GRANTS)
    d = t.engine().decide(request(groups=["analysts"], columns=["order_id", "email"])).to_dict()
    assert d["allowed"] is True
    assert [m["column"] for m in d["masks"]] == ["email"]


def test_column_not_permitted_is_masked_without_policy(tmp_path):
    t = TreeBuilder(tmp_path)
    t.product("sales.orders", [column("region", "internal"), column("email", "confidential")])
    t.cedar(
        "sales",
        '@id("products")\npermit (principal, action == Action::"read", resource is DataProduct);\n'
        '@id("low-columns")\npermit (principal, action == Action::"read", resource is Column)'
        " when { resource.sensitivity <= 1 };\n",
    )
    d = t.engine().decide(request(columns=["region", "email"])).to_dict()
    assert d["allowed"] is True
    [mask] = d["masks"]
    assert mask["column"] == "email"
    assert mask["kind"] == "not_permitted"
    assert mask["policies"] == []


def test_product_denied_means_no_masks(masked):
    d = masked.engine().decide(request(groups=["nobody"], columns=["email", "card"])).to_dict()
    assert d["allowed"] is False
    assert d["masks"] == []


def test_unknown_column_is_a_reasoned_deny(masked):
    d = masked.engine().decide(request(groups=["analysts"], columns=["email", "ghost"])).to_dict()
    assert d["allowed"] is False
    assert "ghost" in d["reason"]
    assert d["masks"] == []


@pytest.mark.parametrize("columns", [None, "*"])
def test_omitted_columns_mean_the_whole_product(masked, columns):
    d = masked.engine().decide(request(groups=["analysts"], columns=columns)).to_dict()
    assert d["allowed"] is True
    assert sorted(m["column"] for m in d["masks"]) == ["card", "email"]


def test_empty_column_list_means_no_column_work(masked):
    d = masked.engine().decide(request(groups=["analysts"], columns=[])).to_dict()
    assert d["allowed"] is True
    assert d["masks"] == []


def test_policies_see_computed_classification(tmp_path):
    t = TreeBuilder(tmp_path)
    t.classification(
        "global",
        [{"id": "emails", "match": {"columns": ["*email*"]}, "level": "confidential",
          "labels": ["pii"]}],
    )  # fmt: skip
    t.product("sales.orders", ["order_id", "email"])
    t.product("sales.stores", ["store_id"])
    t.cedar(
        "sales",
        '@id("non-pii")\npermit (principal, action == Action::"read", resource)'
        ' when { !resource.labels.contains("pii") && resource.classification == "public" };\n',
    )
    engine = t.engine()
    assert engine.decide(request(product="sales.stores")).allowed
    assert not engine.decide(request(product="sales.orders")).allowed
