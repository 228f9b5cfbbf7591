"""The reference side of the differential tests: cedarpy's answer in the compiled API's shape."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import cedarpy

from governance.compiler import AuthorizationResult

_ERRORED = re.compile(r"error while evaluating policy `([^`]+)`")


@dataclass(frozen=True)
class Answer:
    decision: str
    reasons: frozenset[str]
    errors: frozenset[str]


def cedar_answer(
    request: dict[str, Any], policies: str, entities: list[Any], schema: Any = None
) -> Answer:
    result = cedarpy.is_authorized(request, policies, entities, schema=schema)
    raw_errors = result.diagnostics.errors
    errors = set()
    for message in raw_errors:
        match = _ERRORED.match(message)
        assert match, f"cedarpy failed outside policy evaluation: {message}"
        errors.add(match.group(1))
    return Answer(result.decision.value, frozenset(result.diagnostics.reasons), frozenset(errors))


def compiled_answer(result: AuthorizationResult) -> Answer:
    return Answer(result.decision, result.reasons, result.errors)
