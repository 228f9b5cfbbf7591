"""Policy text Cedar accepts but cedarpy's typed nodes cannot hold (a wrong-arity extension
call such as `duration("a", "")`): the tree reader keeps the other policies of the file, and
holds each such policy as a stand-in whose scope checks run and whose text cedarpy evaluates.
Cedar's validator refuses these calls against the tree's schema, so such a tree is refused
with a located `cedar-schema` error; built anyway, its decisions are cedarpy's."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import cedarpy
import pytest
from click.testing import CliRunner

from governance import Engine
from governance.access.catalog_entities import catalog_entities, principal_entity
from governance.access.request import from_authzen
from governance.cedar_bridge import held_as_text
from governance.cli import main
from governance.snapshot import build_snapshot
from governance.tools.check import CheckOptions, _evaluated
from governance.tree.cedar_files import read_policies
from governance.tree.load import load_tree
from tests.treebuilder import TreeBuilder, codes, errors, request

HELD = """\
@id("odd-read")
@reason("errors whenever it is reached")
permit (principal in Group::"a", action == Action::"read", resource)
when { duration("a", "") == duration("1h") };

@id("writers")
permit (principal in Group::"w", action == Action::"write", resource);

@id("odd-forbid")
forbid (principal, action == Action::"write", resource)
when { principal in Group::"x" || duration("1", "2") == duration("1h") };

@id("odd-unless")
permit (principal, action == Action::"read", resource in Domain::"sales")
unless { principal in Group::"b" && ip("1.2.3.4").isInRange(ip("1.2.3.4"), 1) };
"""


def test_the_reader_holds_each_statement_the_typed_nodes_cannot() -> None:
    problems: list[Any] = []
    policies = read_policies(HELD, "p.cedar", "sales", problems)
    assert problems == []
    assert [(p.full_id, p.location.line) for p in policies] == [
        ("sales/odd-read", 1), ("sales/writers", 6), ("sales/odd-forbid", 9),
        ("sales/odd-unless", 13),
    ]  # fmt: skip
    held = {p.full_id: held_as_text(p.template) for p in policies}
    assert held["sales/writers"] is None
    text, reason = held["sales/odd-read"] or ("", "")
    assert text.startswith('@id("odd-read")') and "expects 1 argument" in reason
    assert policies[0].reason == "errors whenever it is reached"
    assert str(policies[2].template.action) == str(policies[1].template.action)  # == write


def _tree(tmp_path: Any, text: str = HELD) -> TreeBuilder:
    tree = TreeBuilder(tmp_path, on_forbid_error="skip")
    tree.product("sales.orders", ["order_id"])
    tree.product("hr.people", ["person_id"])
    tree.cedar("sales", text)
    return tree


def test_cedars_validator_refuses_them_against_the_schema_located(tmp_path: Any) -> None:
    _, problems = load_tree(_tree(tmp_path).root)
    found = [(p.code, p.location.line) for p in errors(problems)]
    assert found == [("cedar-schema", 1), ("cedar-schema", 9), ("cedar-schema", 13)]
    assert "wrong number of arguments" in errors(problems)[0].message


def test_scope_checks_still_run_on_a_held_policy(tmp_path: Any) -> None:
    reaching = (
        '@id("reach")\npermit (principal, action, resource)\n'
        'when { resource == DataProduct::"hr.people" && duration("a", "") == duration("1h") };\n'
    )
    _, problems = load_tree(_tree(tmp_path, reaching).root)
    assert "scope-violation" in codes(problems)


def test_a_template_among_them_is_still_refused(tmp_path: Any) -> None:
    text = HELD + '\n@id("t")\npermit (principal == ?principal, action, resource);\n'
    problems: list[Any] = []
    assert read_policies(text, "p.cedar", "sales", problems) == []
    assert codes(problems) == ["cedar-template"]


@pytest.mark.parametrize("evaluator", ["compiled", "reference"])
def test_built_anyway_its_decisions_are_cedarpys(tmp_path: Any, evaluator: str) -> None:
    tree, _ = load_tree(_tree(tmp_path).root)
    assert tree is not None
    engine = Engine(build_snapshot(tree, [], evaluator))  # type: ignore[arg-type]
    if evaluator == "compiled":
        reasons = engine.snapshot.evaluator.fallback_reasons()
        assert {"sales/odd-read", "sales/odd-forbid", "sales/odd-unless"} <= set(reasons)
        assert "expects 1 argument" in reasons["sales/odd-read"]
    for groups in ([], ["a"], ["b"], ["w"], ["w", "x"], ["a", "b", "w"]):
        for action in ("read", "write"):
            asked = request("al", action, "sales.orders", groups=groups)
            decision = engine.decide(asked)
            assert not decision.refusal
            assert _answer(decision) == _cedar(engine, asked), (groups, action)


def _answer(decision: Any) -> tuple[bool, set[str], set[str]]:
    return (
        decision.allowed,
        {p.id for p in decision.access.policies},
        {e.policy for e in decision.access.errors},
    )


def _cedar(engine: Engine, asked: dict[str, Any]) -> tuple[bool, set[str], set[str]]:
    """Plain cedarpy over every policy's text, with the catalog and the principal."""
    snapshot = engine.snapshot
    policies = snapshot.tree.policies()
    handle = cedarpy.PolicySet.from_str("\n".join(p.text for p in policies))
    ids = {f"policy{i}": p.full_id for i, p in enumerate(policies)}
    classification = {pid: v.classification for pid, v in snapshot.products.items()}
    products = {pid: v.product for pid, v in snapshot.products.items()}
    entities = catalog_entities(
        list(snapshot.tree.domains), products, classification, snapshot.tree.config.action_specs()
    )
    entities.append(principal_entity(from_authzen(asked)))
    result = cedarpy.is_authorized(
        {
            "principal": {"type": "User", "id": asked["subject"]["id"]},
            "action": {"type": "Action", "id": asked["action"]["name"]},
            "resource": {"type": "DataProduct", "id": asked["resource"]["id"]},
            "context": asked["context"],
        },
        handle,
        cedarpy.Entities.from_json_str(json.dumps(entities)),
    )
    errored = {
        ids[e.split("`")[1]] for e in result.diagnostics.errors if "while evaluating policy" in e
    }
    return result.allowed, {ids[r] for r in result.diagnostics.reasons}, errored


def test_govern_check_refuses_the_tree_at_each_held_policy(tmp_path: Any) -> None:
    """`govern check` on such a tree: Cedar's own answer (the validator refuses the call),
    located at each policy, with the other analyses still run and no traceback."""
    tree = _tree(tmp_path)
    result = CliRunner().invoke(
        main, ["check", str(tree.root), "--no-tests", "--no-color"], catch_exceptions=False
    )
    assert result.exit_code == 1, result.output
    located = [line for line in result.output.splitlines() if "cedar-schema" in line]
    assert [line.split(":")[1] for line in located] == ["1", "9", "13"], result.output
    assert "wrong number of arguments" in result.output
    assert "Traceback" not in result.output


def test_check_says_each_held_policy_runs_on_cedarpy_and_why(tmp_path: Any) -> None:
    """Built past validation, each held policy is a located `compiler-fallback` warning that
    says why: the reason cedarpy's typed nodes gave."""
    tree, _ = load_tree(_tree(tmp_path).root)
    assert tree is not None
    snapshot = build_snapshot(tree, [], "compiled")
    found = _evaluated(snapshot, CheckOptions(today=dt.date(2026, 6, 1)))
    fallback = {p.message.split("`")[1]: p for p in found if p.code == "compiler-fallback"}
    assert set(fallback) == {"sales/odd-read", "sales/odd-forbid", "sales/odd-unless"}
    assert [fallback[k].location.line for k in sorted(fallback)] == [9, 1, 13]
    for problem in fallback.values():
        assert problem.severity == "warning"
        assert "cedarpy's typed nodes cannot hold this policy" in problem.message
        assert "expects" in problem.message and "argument" in problem.message
    assert not any(p.code == "compiler-fallback" and "writers" in p.message for p in found)


@pytest.mark.parametrize("evaluator", ["compiled", "reference"])
def test_held_policy_errors_are_named_as_cedar_names_them(tmp_path: Any, evaluator: str) -> None:
    """A request that reaches a held policy's failing call: the policy is reported as errored
    (not silently unsatisfied), and a held forbid that errors denies nothing by itself."""
    tree, _ = load_tree(_tree(tmp_path).root)
    assert tree is not None
    engine = Engine(build_snapshot(tree, [], evaluator))  # type: ignore[arg-type]
    read = engine.decide(request("al", "read", "sales.orders", groups=["a"]))
    assert "sales/odd-read" in {e.policy for e in read.access.errors}
    write = engine.decide(request("al", "write", "sales.orders", groups=["w"]))
    assert write.allowed and "sales/odd-forbid" in {e.policy for e in write.access.errors}
