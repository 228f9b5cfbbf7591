"""What the engine remembers across requests (the groups lists it bound, the principal type
names it found valid) stays small however long the names a hostile stream sends."""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Callable
from typing import Any

import pytest

from governance import Engine
from tests.test_differential import EXAMPLE

_LONG = 4_000  # characters a name: 32 of them make a request of 128 kB, under the body limit


def _retained(engine: Engine, make: Callable[[], list[dict[str, Any]]]) -> tuple[int, int]:
    """Bytes still allocated after deciding the requests `make` makes (made while traced) and
    dropping them and the answers; and how many characters of names they sent."""
    engine.decide(make()[0])  # whatever a first decision sets up once is not counted
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        requests = make()
        sent = sum(len(str(r["subject"])) for r in requests)
        for request in requests:
            engine.decide(request)
        del requests
        gc.collect()
        return tracemalloc.get_traced_memory()[0] - before, sent
    finally:
        tracemalloc.stop()


def _request(n: int, products: list[str], groups: list[str], kind: str = "User") -> dict[str, Any]:
    return {
        "subject": {"type": kind, "id": f"u{n}", "properties": {"groups": groups}},
        "action": {"name": "read"},
        "resource": {"type": "DataProduct", "id": products[n % len(products)]},
        "context": {"purpose": "analytics"},
    }


@pytest.mark.parametrize("evaluator", ["compiled"])
def test_long_group_lists_are_not_kept_across_requests(evaluator: str) -> None:
    engine = Engine.from_path(EXAMPLE, evaluator=evaluator)  # type: ignore[arg-type]
    products = sorted(engine.snapshot.products)
    retained, sent = _retained(
        engine,
        lambda: [
            _request(n, products, [f"{n}-{i}-" + "g" * _LONG for i in range(32)])
            for n in range(300)
        ],
    )
    assert retained < sent // 20  # before: every list kept, 38 MB


def test_long_principal_type_names_are_not_kept_across_requests() -> None:
    engine = Engine.from_path(EXAMPLE)
    products = sorted(engine.snapshot.products)
    retained, sent = _retained(
        engine,
        lambda: [_request(n, products, [], kind=f"T{n}" + "t" * 100_000) for n in range(300)],
    )
    assert retained < sent // 20  # before: 300 names kept, 30 MB
