"""The reference side of the differential tests: cedarpy's answer in the compiled API's shape."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import cedarpy

from governance.compiler import CompiledPolicySet, EntityStore

_ERRORED = re.compile(r"error while evaluating policy `([^`]+)`")


@dataclass(frozen=True)
class Answer:
    decision: str
    reasons: frozenset[str]
    errors: frozenset[str]


REJECTED = Answer("Rejected", frozenset(), frozenset())


def cedar_answer(
    request: dict[str, Any], policies: str, entities: list[Any], schema: Any = None
) -> Answer:
    result = cedarpy.is_authorized(request, policies, entities, schema=schema)
    if result.decision.value == "NoDecision":
        return REJECTED  # cedarpy refused the entities or the request as a whole
    errors = set()
    for message in result.diagnostics.errors:
        match = _ERRORED.match(message)
        assert match, f"cedarpy failed outside policy evaluation: {message}"
        errors.add(match.group(1))
    return Answer(result.decision.value, frozenset(result.diagnostics.reasons), frozenset(errors))


def compiled_answer(
    policies: CompiledPolicySet,
    request: dict[str, Any],
    entities: list[Any],
    schema: Any = None,
    *,
    indexed: bool = True,
) -> Answer:
    """The compiled side; input it refuses (``ValueError``) is `REJECTED`, as in cedarpy."""
    try:
        store = EntityStore.from_json(entities, schema)
        result = policies.authorize(request, store, indexed=indexed)
    except ValueError:
        return REJECTED
    return Answer(result.decision, result.reasons, result.errors)
