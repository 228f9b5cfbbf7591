"""Incremental reload: when only some domains changed, reload rebuilds their parts and reuses the
rest, and every decision after it equals the decision of a fresh full load of the same tree."""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from governance import Engine
from tests.orggen import ACTIONS, PURPOSES, large_org, write_org
from tests.stat_trust import settle

DOMAINS = 6


@pytest.fixture(scope="module")
def original(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = write_org(tmp_path_factory.mktemp("org") / "tree", large_org(DOMAINS, 60))
    # A global policy that reads an entity of d000 (domain policies may name only their own):
    # planning folded what it read, so a change to d000 must rebuild every plan.
    path = root / "global" / "access" / "policies.cedar"
    path.write_text(
        path.read_text() + '\n\n@id("reads-d000")\n'
        'permit(principal, action == Action::"read", resource in Domain::"d001")\n'
        'when { !DataProduct::"d000.p0".tags.contains("retagged") && principal.clearance >= 1 };\n'
    )
    return root


def _append_policy(root: Path, domain: str, text: str) -> None:
    path = root / "domains" / domain / "access" / "policies.cedar"
    path.write_text(path.read_text() + "\n\n" + text + "\n")


def _descriptor(root: Path, domain: str, product: str) -> Path:
    return root / "domains" / domain / "products" / f"{product}.yaml"


def _add_column(root: Path, domain: str, product: str, column: str) -> None:
    path = _descriptor(root, domain, product)
    descriptor = yaml.safe_load(path.read_text())
    descriptor["schema"][0]["properties"].append({"name": column, "logicalType": "string"})
    path.write_text(yaml.safe_dump(descriptor, sort_keys=False))


def _retag(root: Path, domain: str, product: str) -> None:
    path = _descriptor(root, domain, product)
    descriptor = yaml.safe_load(path.read_text())
    descriptor["tags"] = [*descriptor["tags"], "retagged"]
    path.write_text(yaml.safe_dump(descriptor, sort_keys=False))


def _new_domain(root: Path) -> None:
    folder = root / "domains" / "zz"
    shutil.copytree(root / "domains" / "d002", folder)
    (folder / "domain.yaml").write_text("name: zz\nowners: [zz-team]\n")
    for path in (folder / "products").glob("*.yaml"):
        path.write_text(path.read_text().replace("d002", "zz"))
    policies = folder / "access" / "policies.cedar"
    policies.write_text(policies.read_text().replace("d002", "zz"))


def _edit_global_policy(root: Path) -> None:
    path = root / "global" / "access" / "policies.cedar"
    path.write_text(
        path.read_text().replace("resource.sensitivity >= 3", "resource.sensitivity >= 2")
    )


def _edit_schema(root: Path) -> None:
    path = root / "schema.cedarschema"
    path.write_text(path.read_text().replace("region?: String", "region?: String, team?: String"))


GRANT = 'permit(principal in Group::"d003-g1", action, resource in Domain::"d003");'

# (edit, the domains an incremental reload must rebuild; None: everything)
EDITS: dict[str, tuple[Callable[[Path], None], set[str] | None]] = {
    "a domain's policy": (
        lambda r: _append_policy(
            r,
            "d003",
            '@id("new-grant")\npermit(principal in Group::"d003-g1", action, resource in Domain::"d003");',
        ),
        {"d003"},
    ),
    "a domain's product": (lambda r: _add_column(r, "d004", "p1", "work_email"), {"d004"}),
    "a product a global policy reads": (
        lambda r: _retag(r, "d000", "p0"),
        {f"d00{i}" for i in range(DOMAINS)},  # every plan, though only d000's views
    ),
    "a column of the product a global policy reads": (
        lambda r: _add_column(
            r, "d000", "p0", "base_salary"
        ),  # the product's entity stays the same
        {"d000"},
    ),
    "a new domain": (_new_domain, {"zz"}),
    "a removed domain": (lambda r: shutil.rmtree(r / "domains" / "d005"), set()),
    "a global policy": (_edit_global_policy, None),
    "the schema": (_edit_schema, None),
    "nothing": (lambda r: None, set()),
}


def _requests(engine: Engine) -> list[dict[str, Any]]:
    """The decision space: personas of every domain's groups and attributes, every action,
    product and purpose (with none)."""
    domains = sorted(engine.snapshot.tree.domains)
    personas = [
        {"groups": [f"{d}-g{g}"], "department": d, "clearance": c, "employment": e}
        for d, g, c, e in itertools.product(domains[:3], (0, 3), (0, 2), ("employee", "contractor"))
    ] + [{"groups": ["data-stewards"], "clearance": 3}, {"groups": [], "clearance": 1}]
    contexts = [{}, *({"purpose": p} for p in PURPOSES[:3])]
    return [
        {
            "subject": {"type": "User", "id": f"u{i}", "properties": persona},
            "action": {"name": action},
            "resource": {"type": "DataProduct", "id": product},
            "context": context,
        }
        for i, persona in enumerate(personas)
        for action in ACTIONS
        for product in sorted(engine.snapshot.products)
        for context in contexts
    ]


def _answer(decision: Any) -> tuple[Any, ...]:
    d = decision.to_dict()
    # cedarpy reports determining policies in no fixed order: compare them as sets
    for answer in (d["access"], *d["masks"]):
        answer["policies"] = sorted(answer["policies"], key=lambda p: p["id"])
    return (
        d["allowed"],
        d["reason_code"],
        d["access"],
        d["masks"],
        d["classification"],
        d["retention"],
        d["revisions"],
    )


@pytest.mark.parametrize(
    ("evaluator", "listing"),
    [("compiled", "just written"), ("reference", "just written"), ("compiled", "settled")],
)
@pytest.mark.parametrize("edit", list(EDITS))
def test_decisions_after_an_incremental_reload_equal_a_fresh_load(
    original: Path,
    tmp_path: Path,
    edit: str,
    evaluator: Any,
    listing: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Settled, the unchanged domains are taken by their listing, without reading a file."""
    change, rebuilt = EDITS[edit]
    root = tmp_path / "tree"
    shutil.copytree(original, root)
    if listing == "settled":
        settle(monkeypatch)
    engine = Engine.from_path(root, evaluator=evaluator)
    if listing == "settled":
        settle(monkeypatch)
    change(root)
    engine.reload(root)
    fresh = Engine.from_path(root, evaluator=evaluator)
    assert engine.snapshot.rebuilt == rebuilt
    assert set(engine.snapshot.plans) == set(fresh.snapshot.plans)
    requests = _requests(fresh)
    if evaluator == "reference":
        requests = requests[::7]  # cedarpy is slow: a spread sample of the same space
    for request in requests:
        assert _answer(engine.decide(request)) == _answer(fresh.decide(request)), request


def test_unchanged_domains_keep_their_plans_and_views(original: Path, tmp_path: Path) -> None:
    root = tmp_path / "tree"
    shutil.copytree(original, root)
    engine = Engine.from_path(root)
    before = engine.snapshot
    _add_column(root, "d004", "p1", "work_email")
    engine.reload(root)
    after = engine.snapshot
    for key, plan in after.plans.items():
        domain = key[0][1]
        assert (plan is before.plans.get(key)) is (domain != "d004"), key
    for pid, view in after.products.items():
        assert (view is before.products[pid]) is (not pid.startswith("d004.")), pid
