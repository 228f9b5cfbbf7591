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
    "HELD_ANNOTATIONS",
    "CedarEntities",
    "CedarSlice",
    "cedar_accepts",
    "entity_uids",
    "format_policies",
    "held_as_text",
    "parse_policies",
    "parse_schema",
    "pst",
    "stand_in",
    "validate_policies",
]

_ERRORED_POLICY = re.compile(r"error while evaluating policy `(?P<id>[^`]*)`")


def parse_policies(text: str) -> pst.PolicySet:
    """Cedar text to typed nodes; raises ValueError with Cedar's message on a syntax error."""
    return cedarpy.policies_to_pst(text)


# How the walk of `entity_uids` treats a value of each class: a uid, a mapping, a tuple, a node
# (by its field names) or a leaf; read off the class once rather than per value.
_WALK: dict[type, str | tuple[str, ...]] = {}


def _walk_kind(cls: type) -> str | tuple[str, ...]:
    if issubclass(cls, pst.EntityUid):
        return "uid"
    if issubclass(cls, Mapping):
        return "mapping"
    if issubclass(cls, tuple):
        return "tuple"
    if dataclasses.is_dataclass(cls):
        return tuple(f.name for f in dataclasses.fields(cls))
    return "leaf"


def entity_uids(template: pst.Template) -> frozenset[pst.EntityUid]:
    """Every entity uid the template names, at any depth: what `pst.entity_uids` gives, with
    each class's place in the walk decided once (see `_WALK`)."""
    found: set[pst.EntityUid] = set()
    stack: list[Any] = [template]
    while stack:
        value = stack.pop()
        kind = _WALK.get(type(value))
        if kind is None:
            kind = _WALK[type(value)] = _walk_kind(type(value))
        if kind == "uid":
            found.add(value)
        elif kind == "mapping":
            stack.extend(value.values())
        elif kind == "tuple":
            stack.extend(value)
        elif kind != "leaf":
            stack.extend([getattr(value, name) for name in kind])
    return frozenset(found)


def parse_schema(text: str) -> Any:
    """A pre-parsed schema handle (Cedar syntax, or JSON when the text is a JSON object)."""
    if text.lstrip().startswith("{"):
        return cedarpy.Schema.from_json_str(text)
    return cedarpy.Schema.from_str(text)


def cedar_accepts(text: str) -> dict[str, Any] | None:
    """Cedar's own reading of policy text (its JSON form), or None when Cedar rejects the text.
    It holds text cedarpy's typed nodes cannot, such as a wrong-arity `duration("a", "")`."""
    try:
        parsed = json.loads(cedarpy.policies_to_json_str(text))
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


# Annotations a stand-in carries; neither is a Cedar identifier, so no policy text can set one.
_HELD_TEXT, _HELD_REASON = "govern text", "govern reason"
HELD_ANNOTATIONS = frozenset({_HELD_TEXT, _HELD_REASON})


def stand_in(policy: Mapping[str, Any], text: str, reason: str) -> pst.Template:
    """Typed nodes standing in for one policy (Cedar's JSON form, `cedar_accepts`) that the typed
    nodes cannot hold: its effect, scope and annotations exactly, and one condition naming every
    entity its conditions name, so scope checks and entity selection see them all. The
    condition holds a template slot, which nothing evaluates: the compiler refuses it, and a
    `CedarSlice` evaluates the policy's own `text` instead (`held_as_text`)."""
    named = tuple(pst.EntityLit(uid) for uid in _entities_in(policy.get("conditions", [])))
    held: pst.Expr = pst.BinaryOp("and", pst.Slot("principal"), pst.Set(named))
    annotations = {**policy.get("annotations", {}), _HELD_TEXT: text, _HELD_REASON: reason}
    return pst.Template(
        id="policy0",
        effect=policy["effect"],
        principal=_scope(policy["principal"]),
        action=_action_scope(policy["action"]),
        resource=_scope(policy["resource"]),
        clauses=(pst.When(held),),
        annotations=pst.FrozenMap(annotations),
    )


def held_as_text(template: pst.Template) -> tuple[str, str] | None:
    """A stand-in's Cedar text and why the typed nodes cannot hold it; None for other policies."""
    text = template.annotations.get(_HELD_TEXT)
    if text is None:
        return None
    return text, template.annotations.get(_HELD_REASON, "")


def _entity_type(name: str) -> pst.EntityType:
    *namespace, basename = name.split("::")
    return pst.EntityType(basename, tuple(namespace))


def _uid_node(uid: Mapping[str, Any]) -> pst.EntityUid:
    return pst.EntityUid(_entity_type(uid["type"]), uid["id"])


def _scope(constraint: Mapping[str, Any]) -> Any:
    op = constraint["op"]
    if "slot" in constraint or "slot" in constraint.get("in", {}):
        raise ValueError("Cedar templates (`?principal`, `?resource`) are not supported")
    if op == "All":
        return pst.ScopeAny()
    if op == "==":
        return pst.ScopeEq(_uid_node(constraint["entity"]))
    if op == "in":
        return pst.ScopeIn(_uid_node(constraint["entity"]))
    if op == "is" and "in" in constraint:
        return pst.ScopeIsIn(
            _entity_type(constraint["entity_type"]), _uid_node(constraint["in"]["entity"])
        )
    if op == "is":
        return pst.ScopeIs(_entity_type(constraint["entity_type"]))
    raise ValueError(f"unknown scope constraint `{op}`")


def _action_scope(constraint: Mapping[str, Any]) -> Any:
    op = constraint["op"]
    if op == "All":
        return pst.ScopeAny()
    if op == "==":
        return pst.ActionEq(_uid_node(constraint["entity"]))
    if op == "in":
        entities = constraint.get("entities") or [constraint["entity"]]
        return pst.ActionIn(tuple(_uid_node(e) for e in entities))
    raise ValueError(f"unknown action constraint `{op}`")


def _entities_in(node: Any) -> list[pst.EntityUid]:
    """Every entity literal (`{"__entity": {"type", "id"}}`) anywhere in Cedar's JSON form."""
    found: list[pst.EntityUid] = []
    stack = [node]
    while stack:  # an explicit stack: deep conditions cannot exhaust the C stack
        value = stack.pop()
        if isinstance(value, dict):
            uid = value.get("__entity")
            if isinstance(uid, dict) and {"type", "id"} <= uid.keys():
                found.append(_uid_node(uid))
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return sorted(set(found), key=str)


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

    __slots__ = ("_handle", "_ids")

    def __init__(self, templates: Sequence[pst.Template]) -> None:
        held = [(t.id, found[0]) for t in templates if (found := held_as_text(t))]
        self._handle = _policy_set(t for t in templates if held_as_text(t) is None)
        # Policies only Cedar's text form holds are added as text: Cedar numbers them `policy0`,
        # `policy1`, ... (our ids are `layer/id`, so none collides), mapped back here.
        self._ids = {f"policy{i}": policy_id for i, (policy_id, _) in enumerate(held)}
        if held:
            self._handle = self._handle.with_added_str("\n".join(text for _, text in held))

    def authorize_many(self, requests: Sequence[Mapping[str, Any]], entities: Any) -> list[Outcome]:
        results = cedarpy.is_authorized_batch([dict(r) for r in requests], self._handle, entities)
        return [_outcome(result, self._ids) for result in results]


def _outcome(result: Any, ids: Mapping[str, str]) -> Outcome:
    errors = tuple(result.diagnostics.errors)
    errored = tuple(m["id"] for e in errors if (m := _ERRORED_POLICY.search(e)))
    reasons = tuple(result.diagnostics.reasons)
    if ids:
        errored = tuple(ids.get(i, i) for i in errored)
        reasons = tuple(ids.get(i, i) for i in reasons)
        errors = tuple(_renamed(e, ids) for e in errors)
    return Outcome(result.allowed, reasons, errored, errors)


def _renamed(message: str, ids: Mapping[str, str]) -> str:
    match = _ERRORED_POLICY.search(message)
    if match is None or match["id"] not in ids:
        return message
    return message.replace(f"`{match['id']}`", f"`{ids[match['id']]}`", 1)
