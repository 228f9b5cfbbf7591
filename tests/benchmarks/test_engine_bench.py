"""Engine benchmarks: full decisions beside plain cedarpy, in the same run.

`make bench` runs these; `python -m tests.benchmarks.report` turns the JSON into the README table.
Each group holds one organisation size, so ratios compare like with like.
"""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import cedarpy
import pytest

from governance import Engine
from governance.access.catalog_entities import catalog_entities, principal_entity
from governance.access.request import from_authzen
from tests.benchmarks.conftest import ONE_DOMAIN, SIZES
from tests.orggen import ACTIONS, PURPOSES


def _requests(engine: Engine, count: int = 64, seed: int = 3) -> list[dict[str, Any]]:
    """Representative traffic: random principals and purposes over every product, columns named."""
    rng = random.Random(seed)
    products = sorted(engine.snapshot.products)
    domains = sorted(engine.snapshot.tree.domains)
    requests = []
    for i in range(count):
        product = engine.snapshot.products[rng.choice(products)]
        groups = [f"{rng.choice(domains)}-g{rng.randrange(8)}" for _ in range(2)]
        groups += ["data-stewards"] if i % 7 == 0 else []
        columns = [c.key for c in product.product.columns][:4]
        requests.append({
            "subject": {"type": "User", "id": f"user{i}", "properties": {
                "groups": groups, "department": product.product.domain, "clearance": rng.randrange(4),
                "employment": rng.choice(["employee", "employee", "contractor"]),
            }},
            "action": {"name": rng.choice(ACTIONS[:3])},
            "resource": {"type": "DataProduct", "id": product.product.id, "properties": {"columns": columns}},
            "context": {"purpose": rng.choice(PURPOSES)},
        })  # fmt: skip
    return requests


def _cycle(call: Callable[[Any], Any], items: list[Any]) -> Callable[[], Any]:
    iterator: Iterator[Any] = itertools.cycle(items)
    return lambda: call(next(iterator))


class PlainCedar:
    """The baseline: cedarpy with one pre-parsed handle of all policies and of all entities."""

    def __init__(self, engine: Engine, requests: list[dict[str, Any]]) -> None:
        snapshot = engine.snapshot
        tree = snapshot.tree
        text = "\n".join(p.text for p in tree.policies())
        self.policies = cedarpy.PolicySet.from_str(text)
        classification = {pid: v.classification for pid, v in snapshot.products.items()}
        products = {pid: v.product for pid, v in snapshot.products.items()}
        entities = catalog_entities(
            list(tree.domains), products, classification, tree.config.action_specs()
        )
        entities += [principal_entity(from_authzen(r)) for r in requests]
        self.entities = cedarpy.Entities.from_json_str(json.dumps(entities))
        self.requests = [
            {
                "principal": {"type": "User", "id": r["subject"]["id"]},
                "action": {"type": "Action", "id": r["action"]["name"]},
                "resource": {"type": "DataProduct", "id": r["resource"]["id"]},
                "context": r["context"],
            }
            for r in requests
        ]

    def authorize(self, request: dict[str, Any]) -> bool:
        return bool(cedarpy.is_authorized(request, self.policies, self.entities).allowed)


_engines: dict[tuple[str, str], Engine] = {}


def _engine(orgs: dict[str, Path], org: str, evaluator: str) -> Engine:
    key = (org, evaluator)
    if key not in _engines:
        _engines[key] = Engine.from_path(orgs[org], evaluator=evaluator)  # type: ignore[arg-type]
    return _engines[key]


ORGS = ["example", *map(str, SIZES)]


@pytest.mark.parametrize("org", ORGS)
@pytest.mark.parametrize("evaluator", ["compiled", "reference"])
def test_engine_decide(benchmark: Any, orgs: dict[str, Path], org: str, evaluator: str) -> None:
    """Full decision: access, column masks, classification and retention."""
    engine = _engine(orgs, org, evaluator)
    requests = _requests(engine)
    benchmark.group = f"decide:{org}"
    benchmark.extra_info.update(policies=len(engine.snapshot.tree.policies()), evaluator=evaluator)
    decisions = [engine.decide(r) for r in requests]
    assert all(not d.refusal for d in decisions), [d.refusal for d in decisions if d.refusal][:3]
    benchmark(_cycle(engine.decide, requests))


@pytest.mark.parametrize("org", ORGS)
@pytest.mark.parametrize("evaluator", ["compiled", "reference"])
def test_engine_decide_allowed(
    benchmark: Any, orgs: dict[str, Path], org: str, evaluator: str
) -> None:
    """Allowed requests only: the product is readable, so every named column is evaluated too
    (the heaviest full decision; most of the mixed traffic above is denied at product level)."""
    engine = _engine(orgs, org, evaluator)
    allowed = [r for r in _requests(engine, count=4000, seed=5) if engine.decide(r).allowed][:64]
    assert len(allowed) >= 16, len(allowed)
    benchmark.group = f"allowed:{org}"
    benchmark.extra_info.update(policies=len(engine.snapshot.tree.policies()), evaluator=evaluator)
    benchmark(_cycle(engine.decide, allowed))


@pytest.mark.parametrize("org", ORGS)
def test_plain_cedarpy(benchmark: Any, orgs: dict[str, Path], org: str) -> None:
    """Product-level access only, with pre-parsed PolicySet and Entities handles: cedarpy's best case."""
    engine = _engine(orgs, org, "reference")
    baseline = PlainCedar(engine, _requests(engine))
    benchmark.group = f"decide:{org}"
    benchmark.extra_info.update(policies=len(engine.snapshot.tree.policies()), evaluator="cedarpy")
    benchmark(_cycle(baseline.authorize, baseline.requests))


@pytest.mark.parametrize("size", [10000])
def test_load_and_compile(benchmark: Any, orgs: dict[str, Path], size: int) -> None:
    """Loading, validating and compiling a whole tree (10,000 policies): seconds, not minutes."""
    benchmark.group = "load"
    benchmark.extra_info.update(policies=size)
    benchmark.pedantic(
        lambda: Engine.from_path(orgs[str(size)], evaluator="compiled"), rounds=1, iterations=1
    )


_one_domain_engines: dict[int, Engine] = {}


@pytest.mark.parametrize("size", ONE_DOMAIN)
def test_engine_decide_one_domain(
    benchmark: Any, one_domain_orgs: dict[int, Path], size: int
) -> None:
    """Full decisions with every policy in one domain (one grant per group): the principal
    index keeps 1,000 and 10,000 policies near the 10-policy case."""
    if size not in _one_domain_engines:
        _one_domain_engines[size] = Engine.from_path(one_domain_orgs[size])
    engine = _one_domain_engines[size]
    rng = random.Random(5)
    products = sorted(engine.snapshot.products)
    groups = max(1, size - 4)
    requests = [
        {
            "subject": {"type": "User", "id": f"user{i}", "properties": {
                "groups": [f"big-g{rng.randrange(groups)}" for _ in range(2)],
                "clearance": rng.randrange(4), "employment": "employee",
            }},
            "action": {"name": ACTIONS[i % 3]},
            "resource": {"type": "DataProduct", "id": rng.choice(products)},
            "context": {"purpose": rng.choice(PURPOSES)},
        }
        for i in range(64)
    ]  # fmt: skip
    assert all(not engine.decide(r).refusal for r in requests)
    benchmark.group = "decide:one-domain"
    benchmark.extra_info.update(policies=len(engine.snapshot.tree.policies()), evaluator="compiled")
    benchmark(_cycle(engine.decide, requests))
