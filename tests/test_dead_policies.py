"""Dead-policy analysis: the compiled path finds exactly what cedarpy, policy by policy, finds."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from governance import Engine
from governance.tools.dead_policies import DeadPolicy, dead_policies
from tests.orggen import DomainSpec, large_org, write_org

TODAY = dt.date(2026, 1, 15)
BROKEN = Path(__file__).parent / "fixtures" / "broken" / "dead-policy"

# Personas that collide with the synthetic principals the analysis makes from permits' scopes:
# `u1` is both a fixtures persona (with attributes) and a user a permit names.
PERSONAS = {
    "steward": {"id": "s1", "properties": {"groups": ["data-stewards"], "clearance": 3}},
    "contractor": {
        "id": "c1",
        "properties": {"groups": ["d000-g1"], "employment": "contractor", "clearance": 1},
    },
    "member": {
        "id": "u1",
        "properties": {"groups": ["d001-g2", "d000-g3"], "department": "d001", "clearance": 2},
    },
}
NAMED_USER = (
    '@id("named-user")\npermit(principal == User::"u1", action == Action::"export", '
    'resource in Domain::"d001");'
)
NAMED_GROUP = (
    '@id("named-groups")\npermit(principal in Group::"d001-g2", action in '
    '[Action::"share", Action::"export"], resource in Domain::"d001");'
)


def _names(found: list[DeadPolicy]) -> list[tuple[str, tuple[str, ...], int, tuple[str, ...]]]:
    return [(d.policy.full_id, d.guardrails, d.requests, d.lapsed) for d in found]


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    spec = large_org(domains=6, policies=60, seed=11)
    spec.domains["d001"].policies += [NAMED_USER, NAMED_GROUP]
    spec.domains["empty"] = DomainSpec({}, [NAMED_GROUP.replace("d001", "empty")])
    root = write_org(tmp_path_factory.mktemp("dead") / "org", spec)
    (root / "fixtures.yaml").write_text(yaml.safe_dump({"principals": PERSONAS}))
    return Engine.from_path(root)


def test_compiled_path_matches_cedarpy_on_a_generated_org(generated: Engine) -> None:
    compiled = dead_policies(generated, TODAY)
    reference = dead_policies(generated, TODAY, exact_only=True)
    assert _names(compiled) == _names(reference)
    assert compiled, "the generated org has permits the export guardrail always overrides"


def test_compiled_path_matches_cedarpy_on_the_fixture_tree() -> None:
    engine = Engine.from_path(BROKEN)
    compiled = dead_policies(engine, TODAY)
    assert _names(compiled) == _names(dead_policies(engine, TODAY, exact_only=True))
    assert [d.policy.full_id for d in compiled] == ["sales/analysts-export-orders"]
    assert compiled[0].guardrails == ("global/no-pii-export",)


def test_a_required_context_attribute_does_not_hide_a_dead_policy(tmp_path: Path) -> None:
    # With `ticket` required, a request the analysis made up without it would be refused (as
    # Cedar given the schema refuses it), the permit would seem to grant nothing, and its
    # death under the guardrail would go unreported.
    import shutil

    tree = tmp_path / "tree"
    shutil.copytree(BROKEN, tree)
    schema = tree / "schema.cedarschema"
    schema.write_text(schema.read_text().replace("ticket?: String", "ticket: String"))
    engine = Engine.from_path(tree)
    found = dead_policies(engine, TODAY)
    assert [d.policy.full_id for d in found] == ["sales/analysts-export-orders"]
    assert _names(found) == _names(dead_policies(engine, TODAY, exact_only=True))
