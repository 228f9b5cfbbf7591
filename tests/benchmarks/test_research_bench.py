"""The standalone compiler on the research workload, beside a hand-written Python function with
a dict index and cedarpy with pre-parsed handles, at 10, 100 and 1,000 policies (`research:N`).

The workload: users in teams, datasets in domains, one grant per (team, domain) pair with a
purpose condition, and one global forbid of restricted data to principals without clearance.
Requests are cedarpy's request dicts, read on every call (as `authorize` is used standalone).
"""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Callable
from typing import Any

import cedarpy
import pytest

from governance.compiler import CompiledPolicySet, EntityStore, compile_policies

SIZES = [10, 100, 1000]
PURPOSES = ["analytics", "billing", "support", "research"]
FORBID = """forbid (principal, action, resource)
when { resource.restricted && !(principal.clearance >= 3) };"""
GRANT = """permit (principal in Team::"t{team}", action == Action::"{action}", resource in Domain::"d{domain}")
when {{ context.purpose == "{purpose}" }};"""
ACTIONS = ["read", "write"]


class Workload:
    """Policies, entities and requests of one size, and the hand-written equivalent."""

    def __init__(self, policies: int, requests: int = 64, seed: int = 11) -> None:
        rng = random.Random(seed)
        grants = policies - 1
        teams = max(2, grants // 5)
        domains = max(2, grants // 10)
        self.grants = [
            (f"t{i % teams}", ACTIONS[i % 2], f"d{(i * 7) % domains}", PURPOSES[i % 4])
            for i in range(grants)
        ]
        text = [FORBID] + [
            GRANT.format(team=t[1:], action=a, domain=d[1:], purpose=p)
            for t, a, d, p in self.grants
        ]
        self.text = "\n".join(text)
        users = [f"u{i}" for i in range(64)]
        datasets = [f"ds{i}" for i in range(4 * domains)]
        self.team_of = {u: [f"t{rng.randrange(teams)}" for _ in range(2)] for u in users}
        self.clearance = {u: rng.randrange(5) for u in users}
        self.domain_of = {ds: f"d{i % domains}" for i, ds in enumerate(datasets)}
        self.restricted = {ds: i % 5 == 0 for i, ds in enumerate(datasets)}
        self.entities: list[dict[str, Any]] = [
            {"uid": {"type": "Team", "id": f"t{i}"}, "attrs": {}, "parents": []} for i in range(teams)
        ] + [
            {"uid": {"type": "Domain", "id": f"d{i}"}, "attrs": {}, "parents": []} for i in range(domains)
        ] + [
            {"uid": {"type": "User", "id": u}, "attrs": {"clearance": self.clearance[u]},
             "parents": [{"type": "Team", "id": t} for t in self.team_of[u]]}
            for u in users
        ] + [
            {"uid": {"type": "Dataset", "id": ds}, "attrs": {"restricted": self.restricted[ds]},
             "parents": [{"type": "Domain", "id": self.domain_of[ds]}]}
            for ds in datasets
        ]  # fmt: skip
        self.requests = [
            {
                "principal": {"type": "User", "id": rng.choice(users)},
                "action": {"type": "Action", "id": rng.choice(ACTIONS)},
                "resource": {"type": "Dataset", "id": rng.choice(datasets)},
                "context": {"purpose": rng.choice(PURPOSES)},
            }
            for _ in range(requests)
        ]
        # the hand-written function's index: (team, action, domain) -> purposes granted
        self.index: dict[tuple[str, str, str], set[str]] = {}
        for team, action, domain, purpose in self.grants:
            self.index.setdefault((team, action, domain), set()).add(purpose)
        self.compiled: CompiledPolicySet = compile_policies(self.text)
        self.store = EntityStore.from_json(self.entities)

    def hand(self, request: dict[str, Any]) -> bool:
        """The workload's logic written by hand over plain dicts: the floor for Python."""
        user = request["principal"]["id"]
        dataset = request["resource"]["id"]
        if self.restricted[dataset] and not self.clearance[user] >= 3:
            return False
        action, domain = request["action"]["id"], self.domain_of[dataset]
        purpose = request["context"]["purpose"]
        index = self.index
        for team in self.team_of[user]:
            granted = index.get((team, action, domain))
            if granted is not None and purpose in granted:
                return True
        return False


_workloads: dict[int, Workload] = {}


def _workload(size: int) -> Workload:
    if size not in _workloads:
        _workloads[size] = Workload(size)
    return _workloads[size]


def _cycle(call: Callable[[Any], Any], items: list[Any]) -> Callable[[], Any]:
    iterator = itertools.cycle(items)
    return lambda: call(next(iterator))


def _answers_agree(work: Workload) -> None:
    policies = cedarpy.PolicySet.from_str(work.text)
    entities = cedarpy.Entities.from_json_str(json.dumps(work.entities))
    for request in work.requests:
        cedar = cedarpy.is_authorized(request, policies, entities).allowed
        assert work.compiled.authorize(request, work.store).allowed == cedar == work.hand(request)


@pytest.mark.parametrize("size", SIZES)
def test_research_authorize(benchmark: Any, size: int) -> None:
    work = _workload(size)
    _answers_agree(work)
    benchmark.group = f"research:{size}"
    benchmark.extra_info.update(policies=size, evaluator="authorize")
    benchmark(_cycle(lambda r: work.compiled.authorize(r, work.store), work.requests))


@pytest.mark.parametrize("size", SIZES)
def test_research_hand_written(benchmark: Any, size: int) -> None:
    work = _workload(size)
    benchmark.group = f"research:{size}"
    benchmark.extra_info.update(policies=size, evaluator="hand-written")
    benchmark(_cycle(work.hand, work.requests))


@pytest.mark.parametrize("size", SIZES)
def test_research_cedarpy(benchmark: Any, size: int) -> None:
    work = _workload(size)
    policies = cedarpy.PolicySet.from_str(work.text)
    entities = cedarpy.Entities.from_json_str(json.dumps(work.entities))
    benchmark.group = f"research:{size}"
    benchmark.extra_info.update(policies=size, evaluator="cedarpy")
    benchmark(_cycle(lambda r: cedarpy.is_authorized(r, policies, entities), work.requests))
