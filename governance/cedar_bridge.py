"""The only module that calls cedarpy: parsing, validation, formatting and reference evaluation."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import cedarpy
from cedarpy import pst

__all__ = [
    "CedarEntities",
    "CedarSlice",
    "format_policies",
    "parse_policies",
    "parse_schema",
    "pst",
    "validate_policies",
]

_ERRORED_POLICY = re.compile(r"error while evaluating policy `(?P<id>[^`]*)`")


def parse_policies(text: str) -> pst.PolicySet:
    """Cedar text to typed nodes; raises ValueError with Cedar's message on a syntax error."""
    return cedarpy.policies_to_pst(text)


def parse_schema(text: str) -> Any:
    """A pre-parsed schema handle (Cedar syntax, or JSON when the text is a JSON object)."""
    if text.lstrip().startswith("{"):
        return cedarpy.Schema.from_json_str(text)
    return cedarpy.Schema.from_str(text)


def validate_policies(text: str, schema: Any) -> list[tuple[str, str]]:
    """Schema validation findings as (positional policy id, message)."""
    result = cedarpy.validate_policies(text, schema)
    return [(error.policy_id, error.error) for error in result.errors]


def format_policies(text: str, line_width: int = 80, indent_width: int = 2) -> str:
    return cedarpy.format_policies(text, line_width, indent_width)


def _policy_set(templates: Iterable[pst.Template]) -> Any:
    nodes = pst.FrozenMap({t.id: t for t in templates})
    return cedarpy.PolicySet.from_pst(
        pst.PolicySet(templates=pst.FrozenMap(), static_policies=nodes, template_links=())
    )


def with_id(template: pst.Template, policy_id: str) -> pst.Template:
    """The same policy under the id cedarpy will report it by (our full `layer/id`)."""
    return dataclasses.replace(template, id=policy_id)


class CedarEntities:
    """The catalog's entities, parsed once; each request adds only its principal."""

    __slots__ = ("_handle",)

    def __init__(self, entities: Sequence[Mapping[str, Any]]) -> None:
        self._handle = cedarpy.Entities.from_json_str(json.dumps(list(entities)))

    def with_request_entities(self, entities: Sequence[Mapping[str, Any]]) -> Any:
        if not entities:
            return self._handle
        return self._handle.with_added_json_str(json.dumps(list(entities)))


@dataclasses.dataclass(frozen=True, slots=True)
class Outcome:
    """What Cedar said: the decision, its determining policy ids and the errored ones."""

    allowed: bool
    reasons: tuple[str, ...]
    errored: tuple[str, ...]
    error_messages: tuple[str, ...]


class CedarSlice:
    """One pre-parsed cedarpy PolicySet: the reference evaluator for one (action, domain) slice."""

    __slots__ = ("_handle",)

    def __init__(self, templates: Sequence[pst.Template]) -> None:
        self._handle = _policy_set(templates)

    def authorize_many(self, requests: Sequence[Mapping[str, Any]], entities: Any) -> list[Outcome]:
        results = cedarpy.is_authorized_batch([dict(r) for r in requests], self._handle, entities)
        return [_outcome(result) for result in results]


def _outcome(result: Any) -> Outcome:
    errors = tuple(result.diagnostics.errors)
    errored = tuple(m["id"] for e in errors if (m := _ERRORED_POLICY.search(e)))
    return Outcome(result.allowed, tuple(result.diagnostics.reasons), errored, errors)
