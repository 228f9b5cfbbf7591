"""The decision space: personas x actions x products x every value of enumerated context attributes.

`govern diff` evaluates two policy trees over it, `govern check` looks for dead policies in it.
Requests are plain AuthZEN mappings, keyed by a canonical string so two sides can be lined up.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from governance.access.catalog_entities import CATALOG_TYPES
from governance.cedar_bridge import pst
from governance.tree.formats import GovernanceConfig, Persona

ABSENT = object()  # a context attribute left out of the request: policies often test `has`


@dataclass(frozen=True, slots=True)
class SpaceRequest:
    """One point of the space: the persona's name (for people) and the AuthZEN request."""

    persona: str
    request: Mapping[str, Any]

    @property
    def key(self) -> str:
        return request_key(self.request)

    @property
    def action(self) -> str:
        return str(self.request["action"]["name"])

    @property
    def product(self) -> str:
        return str(self.request["resource"]["id"])

    @property
    def context(self) -> Mapping[str, Any]:
        context: Mapping[str, Any] = self.request.get("context") or {}
        return context

    def label(self) -> str:
        """`alice read sales.orders [purpose=analytics]`: how a person reads the request."""
        context = ", ".join(f"{k}={v}" for k, v in sorted(self.context.items()))
        columns = self.request["resource"].get("properties", {}).get("columns")
        shown = f" columns [{', '.join(columns)}]" if isinstance(columns, list) else ""
        return f"{self.persona} {self.action} {self.product}{shown}" + (
            f" [{context}]" if context else " [no context]"
        )


_KEY_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS


def request_key(request: Mapping[str, Any]) -> str:
    """A canonical string of the request (sorted keys), to line the two sides of a diff up."""
    try:
        return orjson.dumps(request, default=str, option=_KEY_OPTIONS).decode()
    except orjson.JSONEncodeError:  # what orjson refuses (integers past 64 bits, deep nesting)
        return json.dumps(request, sort_keys=True, separators=(",", ":"), default=str)


def context_values(enumerated: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Every combination of the enumerated context attributes, each also left out once."""
    names = sorted(enumerated)
    choices = [[*enumerated[name], ABSENT] for name in names]
    return [
        {name: value for name, value in zip(names, combo, strict=True) if value is not ABSENT}
        for combo in itertools.product(*choices)
    ]


def merged_context(configs: Iterable[GovernanceConfig]) -> dict[str, list[Any]]:
    """The union of the enumerated context values of several configurations, in first-seen order."""
    merged: dict[str, list[Any]] = {}
    for config in configs:
        for name, values in config.context.items():
            known = merged.setdefault(name, [])
            known += [v for v in values if v not in known]
    return merged


def named_principals(
    templates: Iterable[pst.Template],
    required: Callable[[str], Mapping[str, Any]] = lambda principal_type: {},
) -> dict[str, Persona]:
    """A principal for every group or principal the policies name anywhere (scope or condition),
    with no attributes but the ones `required` (by the schema) of its type: a synthetic member of
    each group, and each named user as itself. Fixture personas alone would miss a grant to a
    group no persona belongs to; without a required attribute the schema would refuse them."""
    found: dict[str, Persona] = {}
    for template in templates:
        for entity in sorted(pst.entity_uids(template), key=str):
            kind, identifier = entity.type.basename, entity.id
            if entity.type.namespace:
                continue  # the engine's principals and groups live in the empty namespace
            if kind == "Group":
                found[f"<member of {identifier}>"] = Persona(
                    id=f"govern:member-of:{identifier}",
                    properties={**required("User"), "groups": [identifier]},
                )
            elif kind not in CATALOG_TYPES:
                found[f"<{kind} {identifier}>"] = Persona(
                    type=kind, id=identifier, properties=dict(required(kind))
                )
    return found


def persona_request(
    persona: Persona, action: str, product: str, context: Mapping[str, Any]
) -> dict[str, Any]:
    return {
        "subject": _subject(persona),
        "action": {"name": action},
        "resource": _resource(product),
        "context": dict(context),
    }


def _nothing_required(action: str) -> Mapping[str, Any]:
    return {}


def space(
    personas: Mapping[str, Persona],
    actions: Iterable[str],
    products: Iterable[str],
    contexts: Sequence[Mapping[str, Any]],
    required_context: Callable[[str], Mapping[str, Any]] = _nothing_required,
) -> Iterator[SpaceRequest]:
    """Every (persona, action, product, context) request, in a stable order. Each context
    carries the attributes the schema requires of the action (`required_context`), with a
    value of their type where it leaves them out: else the schema would refuse the request
    and a grant behind it would go unseen."""
    product_list = list(products)
    per_action = {action: _with_required(contexts, required_context(action)) for action in actions}
    for name, persona in personas.items():
        for action, action_contexts in per_action.items():
            for product in product_list:
                for context in action_contexts:
                    yield SpaceRequest(name, persona_request(persona, action, product, context))


def space_size(
    personas: Mapping[str, Persona],
    actions: Iterable[str],
    products: Iterable[str],
    contexts: Sequence[Mapping[str, Any]],
    required_context: Callable[[str], Mapping[str, Any]] = _nothing_required,
    extra: Iterable[SpaceRequest] = (),
) -> int | None:
    """How many distinct requests (by key) `space(...)` and `extra` make together, without
    making them: what `govern diff` counts and does not decide. A key is the sorted JSON of the
    whole request, so it is the join of its four parts' keys, and the space is their product.
    None when a part needs the `json` fallback of `request_key` (then only making the requests
    counts them exactly)."""
    subjects = {_orjson_key(_subject(persona)) for persona in personas.values()}
    resources = {_orjson_key(_resource(product)) for product in products}
    per_action = {
        _orjson_key({"name": action}): {
            _orjson_key(context) for context in _with_required(contexts, required_context(action))
        }
        for action in actions
    }
    parts = (subjects, resources, set(per_action), *per_action.values())
    if any(None in keys for keys in parts):
        return None
    total = len(subjects) * len(resources) * sum(len(keys) for keys in per_action.values())
    seen: set[str] = set()
    for request in extra:
        inside = _in_space(request.request, subjects, resources, per_action)
        if inside is None:
            return None
        key = request.key
        if not inside and key not in seen:
            seen.add(key)
            total += 1
    return total


def _in_space(
    request: Mapping[str, Any],
    subjects: set[str | None],
    resources: set[str | None],
    per_action: Mapping[str | None, set[str | None]],
) -> bool | None:
    """Whether `space` makes this very request (its key), None if that cannot be told."""
    if set(request) != {"subject", "action", "resource", "context"}:
        return False
    keys = [_orjson_key(request[part]) for part in ("subject", "action", "resource", "context")]
    if None in keys:
        return None
    subject, action, resource, context = keys
    return subject in subjects and resource in resources and context in per_action.get(action, ())


def _orjson_key(value: Any) -> str | None:
    try:
        return orjson.dumps(value, default=str, option=_KEY_OPTIONS).decode()
    except orjson.JSONEncodeError:
        return None


def _subject(persona: Persona) -> dict[str, Any]:
    return {"type": persona.type, "id": persona.id, "properties": dict(persona.properties)}


def _resource(product: str) -> dict[str, Any]:
    return {"type": "DataProduct", "id": product}


def _with_required(
    contexts: Sequence[Mapping[str, Any]], required: Mapping[str, Any]
) -> list[Mapping[str, Any]]:
    """The contexts, each completed with the required attributes it leaves out, once each."""
    if not required:
        return list(contexts)
    completed = {request_key(c): c for c in ({**required, **context} for context in contexts)}
    return list(completed.values())


def request_from_flags(
    personas: Mapping[str, Persona],
    *,
    principal: str | None,
    groups: Sequence[str] = (),
    attributes: Sequence[str] = (),
    action: str | None,
    product: str | None,
    columns: Sequence[str] = (),
    context: Sequence[str] = (),
) -> dict[str, Any]:
    """An AuthZEN request from command-line flags; `principal` may name a fixtures persona.

    `KEY=VALUE` values are read as JSON when they parse (`clearance=3`, `tags=["a"]`), else as
    strings. Raises ValueError naming the flag that is missing or malformed.
    """
    for flag, value in (("--principal", principal), ("--action", action), ("--product", product)):
        if not value:
            raise ValueError(f"{flag} is required when the request is built from flags")
    assert principal is not None and action is not None and product is not None
    persona = personas.get(principal) or Persona(id=principal)
    properties = dict(persona.properties)
    known = list(properties.get("groups", []))
    properties["groups"] = known + [g for g in groups if g not in known]
    properties.update(_pairs(attributes, "--attr"))
    request = persona_request(
        Persona(type=persona.type, id=persona.id, properties=properties),
        action,
        product,
        _pairs(context, "--context"),
    )
    if columns:
        request["resource"]["properties"] = {"columns": list(columns)}
    return request


def _pairs(items: Sequence[str], flag: str) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise ValueError(f"{flag} expects KEY=VALUE, got `{item}`")
        try:
            found[key] = json.loads(text)
        except json.JSONDecodeError:
            found[key] = text
    return found
