"""The cost of checking a request against the schema, beside reading it, in the same run."""

from __future__ import annotations

from pathlib import Path

import pytest

from governance import Engine
from governance.access.request import from_authzen

EXAMPLE = Path(__file__).resolve().parents[2] / "policies"
REQUEST = {
    "subject": {
        "type": "User",
        "id": "dave",
        "properties": {"groups": ["hr-partners"], "clearance": 2, "employment": "employee"},
    },
    "action": {"name": "read"},
    "resource": {"type": "DataProduct", "id": "people.employees"},
    "context": {"purpose": "hr_administration"},
}


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.from_path(EXAMPLE)


@pytest.mark.benchmark(group="request-schema")
def test_schema_check(benchmark, engine: Engine) -> None:
    checker, request = engine.snapshot.request_schema, from_authzen(REQUEST)
    assert checker is not None
    benchmark(checker.check, request)


@pytest.mark.benchmark(group="request-schema")
def test_reading_the_request(benchmark) -> None:
    benchmark(from_authzen, REQUEST)
