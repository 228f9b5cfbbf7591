"""The cost of checking a request against the schema, beside reading it, in the same run: a
typical request, one with every declared attribute, and one refused for an undeclared attribute
(the thorough path, which builds the message)."""

from __future__ import annotations

from pathlib import Path

import pytest

from governance import Engine
from governance.access.request import from_authzen
from governance.errors import RequestError

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


FULL = {
    **REQUEST,
    "subject": {
        "type": "User",
        "id": "dave",
        "properties": {
            "groups": ["hr-partners"], "department": "people", "clearance": 2,
            "employment": "employee", "region": "eu",
        },
    },
    "context": {"purpose": "hr_administration", "ticket": "CHG-1", "region": "eu"},
}  # fmt: skip
UNDECLARED = {
    **REQUEST,
    "subject": {**REQUEST["subject"], "properties": {"groups": [], "clearance": 2, "nick": "d"}},
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


@pytest.mark.benchmark(group="request-schema")
def test_schema_check_every_declared_attribute(benchmark, engine: Engine) -> None:
    checker, request = engine.snapshot.request_schema, from_authzen(FULL)
    assert checker is not None
    benchmark(checker.check, request)


@pytest.mark.benchmark(group="request-schema")
def test_schema_check_refusing_an_undeclared_attribute(benchmark, engine: Engine) -> None:
    checker, request = engine.snapshot.request_schema, from_authzen(UNDECLARED)
    assert checker is not None

    def refuse() -> None:
        try:
            checker.check(request)
        except RequestError:
            return
        raise AssertionError("an undeclared attribute was accepted")

    benchmark(refuse)
