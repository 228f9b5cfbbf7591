"""Policy tests: YAML cases of every layer run against the engine, with decision-space coverage."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from governance.access.request import AccessRequest
from governance.decision import Decision
from governance.engine import Engine
from governance.errors import Location, Problem
from governance.snapshot import EvaluatorName, build_snapshot
from governance.tools.progress import Progress, no_progress
from governance.tree.durations import parse_duration
from governance.tree.formats import Persona, plain_json
from governance.tree.layers import PolicyTree
from governance.tree.load import display_path, load_tree, validate_model
from governance.tree.located_yaml import load_yaml, position_of


class ShortRequest(BaseModel):
    """The short request form: a persona (or inline subject) and a product by id."""

    model_config = ConfigDict(extra="forbid")
    principal: str | Persona
    action: str
    product: str
    columns: list[str] | None = None
    context: dict[str, Any] = {}


class Expectation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    allowed: bool | None = None
    kind: str | None = None
    policies: list[str] | None = None
    masks: list[str] | None = None
    classification: str | None = None
    labels: list[str] | None = None
    retention: dict[str, Any] | None = None


class Case(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    request: dict[str, Any]
    at: dt.date | None = None
    expect: Expectation = Field(default_factory=Expectation)


class TestFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    cases: list[Case] = []


@dataclass(frozen=True, slots=True)
class CaseResult:
    layer: str
    name: str
    location: Location
    failures: tuple[str, ...]
    decision: Decision | None

    @property
    def passed(self) -> bool:
        return not self.failures


@dataclass(slots=True)
class Coverage:
    """Which policies ever decided, and which (domain x action) pairs the tests touched."""

    policies: dict[str, set[str]] = field(default_factory=dict)  # layer -> all full ids
    exercised: set[str] = field(default_factory=set)
    pairs_total: set[tuple[str, str]] = field(default_factory=set)
    pairs_hit: set[tuple[str, str]] = field(default_factory=set)

    @property
    def policy_share(self) -> float:
        total = sum(len(ids) for ids in self.policies.values())
        return (
            100.0
            if not total
            else 100.0 * len(self.exercised & set().union(*self.policies.values())) / total
        )

    @property
    def pair_share(self) -> float:
        return (
            100.0
            if not self.pairs_total
            else 100.0 * len(self.pairs_hit & self.pairs_total) / len(self.pairs_total)
        )


@dataclass(slots=True)
class TestReport:
    results: list[CaseResult]
    coverage: Coverage
    problems: list[Problem]
    loaded: bool = True  # False: the tree did not load, so no test ran (not "0/0 passed")

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results) and not any(
            p.severity == "error" for p in self.problems
        )


def run_tests(
    path: str | Path, evaluator: EvaluatorName = "compiled", progress: Progress = no_progress
) -> TestReport:
    """Run every layer's tests; a tree that does not load reports its problems and runs nothing."""
    tree, problems = load_tree(path)
    if tree is None or any(p.severity == "error" for p in problems):
        return TestReport([], Coverage(), problems, loaded=False)
    engine = Engine(build_snapshot(tree, problems, evaluator))
    return run_tests_on(engine, problems, progress)


def run_tests_on(
    engine: Engine, problems: list[Problem], progress: Progress = no_progress
) -> TestReport:
    """Run every layer's tests on an engine already built from its tree (`govern check` builds
    one snapshot for everything it runs); problems of the test files join `problems`."""
    tree = engine.snapshot.tree
    coverage = _coverage_universe(tree)
    results: list[CaseResult] = []
    files = [(layer.name, path) for layer in tree.layers() for path in layer.tests]
    for done, (layer, test_path) in enumerate(files):
        progress("policy tests", done, len(files))
        results += _run_file(engine, tree, layer, test_path, problems, coverage)
    return TestReport(results, coverage, problems)


def _coverage_universe(tree: PolicyTree) -> Coverage:
    coverage = Coverage()
    for layer in tree.layers():
        coverage.policies[layer.name] = {p.full_id for p in layer.policies}
    actions = [a.name for a in tree.config.action_specs()]
    coverage.pairs_total = {(d, a) for d in tree.domains for a in actions}
    return coverage


def _run_file(
    engine: Engine,
    tree: PolicyTree,
    layer: str,
    path: Path,
    problems: list[Problem],
    coverage: Coverage,
) -> list[CaseResult]:
    display = display_path(path)
    document = load_yaml(path, display, problems)
    parsed = validate_model(document, TestFile, display, problems)
    if parsed is None:
        return []
    results = []
    for index, case in enumerate(parsed.cases):
        location = Location(display, *position_of(document, ("cases", index)))
        results.append(_run_case(engine, tree, layer, case, location, coverage))
    return results


def _run_case(
    engine: Engine, tree: PolicyTree, layer: str, case: Case, location: Location, coverage: Coverage
) -> CaseResult:
    try:
        request = build_request(case.request, tree.fixtures.principals)
    except ValueError as exc:
        return CaseResult(layer, case.name, location, (f"bad request: {exc}",), None)
    if case.at is not None:
        at = dt.datetime.combine(case.at, dt.time(12), dt.UTC)
        decision = Engine(engine.snapshot, clock=lambda: at).decide(request)
    else:
        decision = engine.decide(request)
    _record(decision, engine, coverage)
    return CaseResult(layer, case.name, location, tuple(compare(case.expect, decision)), decision)


def build_request(request: Mapping[str, Any], personas: Mapping[str, Persona]) -> dict[str, Any]:
    """An AuthZEN request from the short form (`principal`, `product`) or as given."""
    if "subject" in request:
        given: dict[str, Any] = plain_json(dict(request))
        return given
    short = ShortRequest.model_validate(request)
    persona = short.principal
    if isinstance(persona, str):
        if persona not in personas:
            raise ValueError(f"unknown persona `{persona}` (not in fixtures.yaml)")
        persona = personas[persona]
    resource: dict[str, Any] = {"type": "DataProduct", "id": short.product}
    if short.columns is not None:
        resource["properties"] = {"columns": short.columns}
    return {
        "subject": {"type": persona.type, "id": persona.id, "properties": dict(persona.properties)},
        "action": {"name": short.action},
        "resource": resource,
        "context": plain_json(short.context),
    }


def _record(decision: Decision, engine: Engine, coverage: Coverage) -> None:
    coverage.exercised.update(p.id for p in decision.access.policies)
    coverage.exercised.update(p.id for m in decision.masks for p in m.policies)
    request = decision.request
    if isinstance(request, AccessRequest):
        view = engine.snapshot.products.get(request.product)
        if view is not None:
            coverage.pairs_hit.add((view.product.domain, request.action))


def compare(expect: Expectation, decision: Decision) -> list[str]:
    """Every way the decision differs from the expectation, as `field: expected X, got Y`."""
    actual = decision.to_dict()
    failures = []

    def check(name: str, wanted: Any, got: Any) -> None:
        if wanted is not None and wanted != got:
            failures.append(f"{name}: expected {wanted!r}, got {got!r}")

    check("allowed", expect.allowed, actual["allowed"])
    check("kind", expect.kind, actual["access"]["kind"])
    got_policies = sorted(p["id"] for p in actual["access"]["policies"])
    check(
        "policies", sorted(expect.policies) if expect.policies is not None else None, got_policies
    )
    got_masks = sorted(m["column"] for m in actual["masks"])
    check("masks", sorted(expect.masks) if expect.masks is not None else None, got_masks)
    classification = actual["classification"] or {}
    check("classification", expect.classification, classification.get("level"))
    if expect.labels is not None:
        missing = sorted(set(expect.labels) - set(classification.get("labels", [])))
        if missing:
            failures.append(
                f"labels: expected {missing!r} among {classification.get('labels', [])!r}"
            )
    retention = actual["retention"] or {}
    for key, wanted in (expect.retention or {}).items():
        got = retention.get(key)
        if key == "conflict":
            got = got is not None
        elif key in ("min", "max") and wanted is not None and got is not None:
            wanted, got = _same_duration(wanted, got)
        check(f"retention.{key}", wanted, got)
    if failures and actual.get("reason"):
        failures.append(f"decision: {actual['reason']}")
    return failures


def _same_duration(wanted: Any, got: str) -> tuple[Any, str]:
    """Compare durations by length, so `P84M` satisfies an expected `P7Y` written another way."""
    try:
        if parse_duration(wanted).days == parse_duration(got).days:
            return got, got
    except ValueError:
        pass
    return wanted, got
