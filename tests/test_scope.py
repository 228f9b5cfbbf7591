"""SPEC 3.2: a domain's policies apply only to the domain's own products."""

from __future__ import annotations

import pytest

from governance import LoadError
from tests.treebuilder import TreeBuilder, errors, request


@pytest.fixture
def tree(tmp_path):
    t = TreeBuilder(tmp_path)
    t.product("sales.orders", ["order_id"])
    t.product("finance.ledger", ["entry_id"])
    return t


def test_domain_wildcard_permit_grants_nothing_elsewhere(tree):
    tree.cedar("sales", '@id("everything")\npermit (principal, action, resource);\n')
    problems = tree.load()[1]
    assert errors(problems) == []  # it names no entity: nothing to report
    engine = tree.engine()
    assert engine.decide(request(product="sales.orders")).allowed
    other = engine.decide(request(product="finance.ledger")).to_dict()
    assert other["allowed"] is False
    assert other["access"]["kind"] == "not_permitted"
    assert other["access"]["policies"] == []


def test_domain_wildcard_forbid_denies_nothing_elsewhere(tree):
    tree.cedar("sales", '@id("lockdown")\nforbid (principal, action, resource);\n')
    tree.cedar("finance", '@id("open")\npermit (principal, action, resource);\n')
    engine = tree.engine()
    assert engine.decide(request(product="finance.ledger")).allowed
    assert engine.decide(request(product="sales.orders")).to_dict()["access"]["kind"] == (
        "forbidden"
    )


def test_global_policies_apply_to_every_domain(tree):
    tree.cedar("global", '@id("all")\npermit (principal, action == Action::"read", resource);\n')
    engine = tree.engine()
    for product in ("sales.orders", "finance.ledger"):
        d = engine.decide(request(product=product)).to_dict()
        assert d["allowed"] is True
        assert [p["id"] for p in d["access"]["policies"]] == ["global/all"]


@pytest.mark.parametrize(
    ("scope", "entity"),
    [
        ('resource == DataProduct::"finance.ledger"', 'DataProduct::"finance.ledger"'),
        ('resource in Domain::"finance"', 'Domain::"finance"'),
        ('resource == Column::"finance.ledger/entry_id"', 'Column::"finance.ledger/entry_id"'),
    ],
)
def test_naming_another_domains_entity_is_a_scope_violation(tree, scope, entity):
    tree.cedar(
        "sales",
        '@id("own")\npermit (principal, action, resource == DataProduct::"sales.orders");\n'
        "\n"
        "// reaching out\n"
        f'@id("reach")\npermit (principal, action, {scope});\n',
        "grants.cedar",
    )
    problems = tree.load()[1]
    found = [p for p in problems if p.code == "scope-violation"]
    assert len(found) == 1
    [problem] = found
    assert problem.severity == "error"
    assert problem.location.file == tree.rel("domains/sales/access/grants.cedar")
    assert problem.location.line == 5
    assert "sales/reach" in problem.message
    assert "finance" in problem.message
    with pytest.raises(LoadError) as exc:
        tree.engine()
    assert "scope-violation" in {p.code for p in exc.value.problems}


def test_naming_own_domain_entities_is_fine(tree):
    tree.cedar(
        "sales",
        '@id("own")\npermit (principal, action, resource in Domain::"sales");\n'
        '@id("own-product")\n'
        'permit (principal, action, resource == DataProduct::"sales.orders");\n',
    )
    assert errors(tree.load()[1]) == []


def test_global_layer_may_name_any_domain(tree):
    tree.cedar(
        "global",
        '@id("ledger-locked")\nforbid (principal, action, resource in Domain::"finance");\n',
    )
    tree.cedar("finance", '@id("open")\npermit (principal, action, resource);\n')
    assert errors(tree.load()[1]) == []
    assert not tree.engine().decide(request(product="finance.ledger")).allowed
