"""ODCS v3 contracts as teams write them load unedited: the folder says the domain, the file
name says the product when the contract's `id` is a UUID (tests/fixtures/odcs/README.md)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.treebuilder import TreeBuilder, errors, request

CONTRACTS = Path(__file__).parent / "fixtures" / "odcs"
NAMES = sorted(p.stem for p in CONTRACTS.glob("*.yaml"))


@pytest.fixture
def tree(tmp_path):
    t = TreeBuilder(tmp_path)
    t.cedar("global", '@id("all")\npermit (principal, action, resource);\n')
    t.domain("logistics")
    return t


def install(tree: TreeBuilder, *names: str) -> None:
    folder = tree.root / "domains/logistics/products"
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copyfile(CONTRACTS / f"{name}.yaml", folder / f"{name}.yaml")


def test_there_are_several_contracts():
    assert len(NAMES) >= 4


@pytest.mark.parametrize("name", NAMES)
def test_each_contract_loads_unedited(tree, name):
    install(tree, name)
    loaded, problems = tree.load()
    assert errors(problems) == []
    [product] = loaded.products().values()
    assert product.id == f"logistics.{name}"  # the contracts' ids are UUIDs
    assert product.domain == "logistics"


@pytest.mark.parametrize("evaluator", ["reference", "compiled"])
def test_all_contracts_together_serve_decisions(tree, evaluator):
    install(tree, *NAMES)
    engine = tree.engine(evaluator=evaluator)
    decision = engine.decide(request(product="logistics.shipments", columns="*")).to_dict()
    assert decision["allowed"] is True
    assert decision["retention"]["min"] == "P2Y"  # the contract's SLA retention promise
    assert decision["classification"]["level"] == "confidential"  # recipient_name
    assert engine.decide(request(product="logistics.fuel_prices")).allowed


def test_shared_column_names_are_qualified_by_table(tree):
    install(tree, "shipments", "depots")
    products = tree.load()[0].products()
    keys = {c.key for c in products["logistics.shipments"].columns}
    assert {"shipments.id", "carriers.id", "recipient_name"} <= keys
    keys = {c.key for c in products["logistics.depots"].columns}
    assert {"depot.depotid", "depot_shift.depotid", "manager_phone"} <= keys
