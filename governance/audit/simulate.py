"""Synthetic gateway traffic: seeded requests over a tree's personas, decided by the real engine and logged.

It gives `make demo`, the tests and the benchmarks a real decision log: every record is written
by the engine through `BackgroundLog` and `FileSink`, the clock moves evenly over a span of
days, and a few requests are malformed on purpose so refusals show up too.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from governance.decision import from_epoch_ns, to_epoch_ns
from governance.engine import Engine
from governance.logs import BackgroundLog, FileSink, LogStats, Masker
from governance.snapshot import Snapshot

LABELS = {"service": "govern-gateway", "instance": "simulated", "version": "0.1.0"}
START = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
_ACTION_WEIGHTS = {"read": 12, "export": 3, "write": 2, "share": 2, "delete": 1}


@dataclass(frozen=True, slots=True)
class Simulation:
    requests: int
    stats: LogStats
    files: list[Path]


class _SteppedClock:
    """The engine's clock during a simulation: one fixed step per decision."""

    def __init__(self, start: dt.datetime, step_ns: int) -> None:
        self._ns, self._step = to_epoch_ns(start), step_ns

    def __call__(self) -> dt.datetime:
        moment = from_epoch_ns(self._ns)
        self._ns += self._step
        return moment


def synthetic_requests(snapshot: Snapshot, count: int, seed: int = 7) -> Iterator[dict[str, Any]]:
    """`count` AuthZEN requests: personas of the tree's fixtures on its products, mostly reads,
    every enumerated purpose, some with named columns; about 2% refer to unknown products,
    actions or columns (the refusals a real gateway sees)."""
    rng = random.Random(seed)
    personas = list(snapshot.tree.fixtures.principals.values())
    if not personas:
        raise ValueError("the policy tree's fixtures.yaml names no principals to simulate")
    products = sorted(snapshot.products)
    actions = [a for a in _ACTION_WEIGHTS if a in snapshot.actions] or sorted(snapshot.actions)
    weights = [_ACTION_WEIGHTS.get(a, 1) for a in actions]
    purposes = list(snapshot.tree.config.context.get("purpose", [])) or [None]
    for _ in range(count):
        persona = rng.choice(personas)
        product = rng.choice(products)
        resource: dict[str, Any] = {"type": "DataProduct", "id": product}
        columns = [c.key for c in snapshot.products[product].product.columns]
        if columns and rng.random() < 0.4:
            resource["properties"] = {"columns": rng.sample(columns, min(3, len(columns)))}
        purpose = rng.choice(purposes)
        request = {
            "subject": {"type": persona.type, "id": persona.id, "properties": persona.properties},
            "action": {"name": rng.choices(actions, weights)[0]},
            "resource": resource,
            "context": {} if purpose is None else {"purpose": purpose},
        }
        _maybe_break(request, rng)
        yield request


def _maybe_break(request: dict[str, Any], rng: random.Random) -> None:
    roll = rng.random()
    if roll < 0.01:
        request["resource"]["id"] = "sales.retired_product"
    elif roll < 0.015:
        request["action"]["name"] = "truncate"
    elif roll < 0.02:
        request["resource"]["properties"] = {"columns": ["no_such_column"]}


def simulate(
    policies: str | Path,
    log_dir: str | Path,
    count: int,
    *,
    seed: int = 7,
    start: dt.datetime = START,
    days: float = 2.0,
    max_bytes: int = 64 * 1024 * 1024,
    compress: bool = False,
    masker: Masker | None = None,
    signing_key: Ed25519PrivateKey | None = None,
) -> Simulation:
    """Decide `count` synthetic requests against `policies`, logging each one to `log_dir`.

    Raises LoadError on a bad tree, ValueError on a tree without personas."""
    if count < 1:
        raise ValueError("count must be positive")
    step = max(int(days * 86_400e9 / count), 1000)
    # loading the tree reads the clock once: the first decision is then stamped `start`
    clock = _SteppedClock(start - dt.timedelta(microseconds=step // 1000), step)
    sink = FileSink(log_dir, max_bytes=max_bytes, compress=compress, signing_key=signing_key)
    log = BackgroundLog(sink, labels=LABELS, masker=masker)
    try:
        engine = Engine.from_path(policies, clock=clock, log=log)
        for number, request in enumerate(synthetic_requests(engine.snapshot, count, seed)):
            engine.decide(request, req_id=number, requested_by=f"gateway:q{number // 3:06d}")
    finally:
        log.close()
    return Simulation(count, log.stats(), list(sink.files))
