"""Cliffs: a principal in ten thousand groups, a domain with a thousand waivers, each beside
its small case in the same run (`cliff:groups`, `cliff:waivers`).

A decision reads only the groups the domain's policies name (`governance.access.principal_groups`)
and only the waivers that can match the request (`governance.rules.waivers`). A request given
as a dict must still have each of its groups checked to be a string, once; a typed
`AccessRequest` whose groups are a frozenset, built once for the principal, costs what a
principal in a few groups costs.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from governance import Engine
from governance.access.request import AccessRequest, from_authzen
from tests.benchmarks.conftest import WAIVERS
from tests.orggen import PURPOSES, WAIVED_GROUP

GROUPS = [3, 10000]  # groups of the principal
_engines: dict[str, Engine] = {}


def _engine(path: Path) -> Engine:
    key = str(path)
    if key not in _engines:
        _engines[key] = Engine.from_path(path)
    return _engines[key]


def _cycle(call: Callable[[Any], Any], items: list[Any]) -> Callable[[], Any]:
    iterator = itertools.cycle(items)
    return lambda: call(next(iterator))


def _group_requests(engine: Engine, groups: int, count: int = 32) -> list[dict[str, Any]]:
    """Requests of the 100-policy organisation whose principal is in two groups the policies
    name and `groups - 2` groups they do not."""
    rng = random.Random(groups)
    snapshot = engine.snapshot
    products = sorted(snapshot.products)
    domains = sorted(snapshot.tree.domains)
    requests = []
    for i in range(count):
        product = snapshot.products[rng.choice(products)].product
        named = [
            f"{product.domain}-g{rng.randrange(8)}",
            f"{rng.choice(domains)}-g{rng.randrange(8)}",
        ]
        unnamed = [f"org-unit-{i}-{n}" for n in range(groups - len(named))]
        requests.append({
            "subject": {"type": "User", "id": f"user{i}", "properties": {
                "groups": named + unnamed, "department": product.domain,
                "clearance": rng.randrange(4), "employment": "employee",
            }},
            "action": {"name": rng.choice(["read", "write", "export"])},
            "resource": {"type": "DataProduct", "id": product.id,
                         "properties": {"columns": [c.key for c in product.columns][:4]}},
            "context": {"purpose": rng.choice(PURPOSES)},
        })  # fmt: skip
    return requests


def _typed(request: dict[str, Any]) -> AccessRequest:
    """The request as a caller holding the principal would pass it: groups as a frozenset."""
    parsed = from_authzen(request)
    return parsed._replace(groups=frozenset(parsed.groups))


@pytest.mark.parametrize("shape", ["dict", "typed"])
@pytest.mark.parametrize("groups", GROUPS)
def test_principal_groups(benchmark: Any, orgs: dict[str, Path], groups: int, shape: str) -> None:
    """Full decisions for a principal in 3 or 10,000 groups (100 policies over 10 domains)."""
    engine = _engine(orgs["100"])
    requests: list[Any] = _group_requests(engine, groups)
    if shape == "typed":
        requests = [_typed(r) for r in requests]
    decisions = [engine.decide(r) for r in requests]
    assert not any(d.refusal for d in decisions), [d.refusal for d in decisions][:3]
    assert any(d.allowed for d in decisions)
    benchmark.group = "cliff:groups"
    benchmark.extra_info.update(groups=groups, shape=shape, evaluator=f"{shape}-{groups}")
    benchmark(_cycle(engine.decide, requests))


def _waiver_requests(engine: Engine, count: int = 64) -> list[dict[str, Any]]:
    """Exports and reads of a waiver organisation, a third of them by members of the group the
    hot waivers name: the same waivers apply whatever the organisation's size, so the two
    sizes differ only in the waivers a request must not be slowed by."""
    rng = random.Random(17)
    products = sorted(engine.snapshot.products)
    requests = []
    for i in range(count):
        groups = [f"big-g{rng.randrange(1, 6)}"] + ([WAIVED_GROUP] if i % 3 == 0 else [])
        requests.append({
            "subject": {"type": "User", "id": f"analyst{i}", "properties": {
                "groups": groups, "clearance": 2, "employment": "employee",
            }},
            "action": {"name": rng.choice(["export", "read"])},
            "resource": {"type": "DataProduct", "id": rng.choice(products)},
            "context": {"purpose": rng.choice(PURPOSES)},
        })  # fmt: skip
    return requests


@pytest.mark.parametrize("waivers", WAIVERS)
def test_domain_waivers(benchmark: Any, waiver_orgs: dict[int, Path], waivers: int) -> None:
    """Full decisions in a domain with 3 or 1,000 waivers of a waivable guardrail, the same
    ones applying in both."""
    engine = _engine(waiver_orgs[waivers])
    requests = _waiver_requests(engine)
    decisions = [engine.decide(r) for r in requests]
    assert not any(d.refusal for d in decisions), [d.refusal for d in decisions][:3]
    assert any(d.access.waivers for d in decisions)
    benchmark.group = "cliff:waivers"
    benchmark.extra_info.update(waivers=waivers, evaluator=f"waivers-{waivers}")
    benchmark(_cycle(engine.decide, requests))
