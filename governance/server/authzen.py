"""AuthZEN 1.0 evaluation and batch evaluation: request reading and response shapes."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from governance.decision import Decision, Mask
from governance.server.shared_entities import share_equal_entities

SEMANTICS = ("execute_all", "deny_on_first_deny", "permit_on_first_permit")
_ENTITIES = ("subject", "action", "resource", "context")
# The identifiers the information model requires of each entity (AuthZEN 1.0, section 5).
REQUIRED: Mapping[str, tuple[str, ...]] = {
    "subject": ("type", "id"),
    "action": ("name",),
    "resource": ("type", "id"),
}
OBLIGATIONS_KEY = "supported_obligations"  # the obligations profile's negotiation member
MASK_OBLIGATION = "custom"

Decide = Callable[[Mapping[str, Any]], Decision]
# Decide a batch in order, stopping after the first decision the callback (if any) is true of.
DecideMany = Callable[
    [Sequence[Mapping[str, Any]], Callable[[Decision], bool] | None], list[Decision]
]


class BadRequest(ValueError):
    """A request body that is not an AuthZEN request: answered 400 with the message."""


def evaluation_response(decision: Decision, *, masks_supported: bool = True) -> dict[str, Any]:
    """`{"decision": bool, "context": {...}}`: the reason, kind and deciding policies, and each
    mask as a `custom` obligation (AuthZEN obligations profile) naming its column and strategy.

    A caller that declared the obligation types it can carry out, without `custom`, cannot
    mask: a permit that needs masks is then answered as a deny (the profile lets the PDP deny
    outright rather than issue a permit the PEP cannot enforce)."""
    context: dict[str, Any] = {"id": decision.decision_id, **_explained(decision)}
    allowed = decision.allowed
    if decision.masks:
        context["obligations"] = mask_obligations(decision)
        if allowed and not masks_supported:
            allowed = False
            context["reason"] = (
                "denied: the caller cannot apply column masks (`custom` is not among its "
                f"supported_obligations); {decision.reason}"
            )
    return {"decision": allowed, "context": context}


def mask_obligations(decision: Decision) -> list[dict[str, Any]]:
    """One obligation per masked column, ids unique within the response."""
    return [
        {"id": _mask_id(index), "type": MASK_OBLIGATION, "properties": _mask_properties(mask)}
        for index, mask in enumerate(decision.masks, start=1)
    ]


# Decisions share their answers (`Access` instances), and masks their strategies and rules:
# the parts of a response that follow from those alone are built once, not per decision.
# Read-only once built (they are only serialised); a bounded cache keyed by identity, each
# entry holding its key object so the id cannot be reused while cached.
_CACHE_LIMIT = 4096
_EXPLAINED: dict[tuple[int, int], tuple[object, dict[str, Any]]] = {}
_PROPERTIES: dict[tuple[str, int, int], tuple[object, object, dict[str, Any]]] = {}
_MASK_IDS = [f"mask-{index}" for index in range(1025)]


def _explained(decision: Decision) -> dict[str, Any]:
    """`reason`, `kind` and `policies`: a function of the answer and the number of masks,
    except for a refused request, whose reason is its own."""
    access = decision.access
    if decision.refusal:
        return {
            "reason": decision.reason,
            "kind": access.kind,
            "policies": [p.id for p in access.policies],
        }
    key = (id(access), len(decision.masks))
    cached = _EXPLAINED.get(key)
    if cached is not None and cached[0] is access:
        return cached[1]
    explained = {
        "reason": decision.reason,
        "kind": access.kind,
        "policies": [p.id for p in access.policies],
    }
    if len(_EXPLAINED) >= _CACHE_LIMIT:
        _EXPLAINED.clear()
    _EXPLAINED[key] = (access, explained)
    return explained


def _mask_properties(mask: Mask) -> dict[str, Any]:
    strategy, rule = mask.strategy, mask.rule
    key = (mask.column, id(strategy), id(rule))
    cached = _PROPERTIES.get(key)
    if cached is not None and cached[0] is strategy and cached[1] is rule:
        return cached[2]
    properties = {
        "action": "mask",
        "column": mask.column,
        "strategy": {**strategy.to_dict(), **rule.to_dict()},
    }
    if len(_PROPERTIES) >= _CACHE_LIMIT:
        _PROPERTIES.clear()
    _PROPERTIES[key] = (strategy, rule, properties)
    return properties


def _mask_id(index: int) -> str:
    return _MASK_IDS[index] if index < len(_MASK_IDS) else f"mask-{index}"


def error_response(message: str) -> dict[str, Any]:
    """An evaluation that could not be read, inside an otherwise valid batch: a deny."""
    return {"decision": False, "context": {"error": {"status": 400, "message": message}}}


def read_evaluation(body: Any) -> dict[str, Any]:
    """The request if it has every entity and identifier AuthZEN requires, else BadRequest."""
    if type(body) is dict:  # the common, well-formed case in one expression
        subject, action, resource = body.get("subject"), body.get("action"), body.get("resource")
        context = body.get("context")
        if (
            type(subject) is dict and type(action) is dict and type(resource) is dict
            and type(subject.get("type")) is str and type(subject.get("id")) is str
            and type(action.get("name")) is str
            and type(resource.get("type")) is str and type(resource.get("id")) is str
            and (context is None or type(context) is dict)
        ):  # fmt: skip
            return body
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object")
    for name, fields in REQUIRED.items():
        read_entity(body, name, fields)
    if body.get("context") is not None and not isinstance(body["context"], dict):
        raise BadRequest("`context` must be an object")
    return body


def read_entity(body: Mapping[str, Any], name: str, fields: tuple[str, ...]) -> dict[str, Any]:
    entity = body.get(name)
    if entity is None:
        raise BadRequest(f"`{name}` is required")
    if not isinstance(entity, dict):
        raise BadRequest(f"`{name}` must be an object")
    for field in fields:
        value = entity.get(field)
        if value is None:
            raise BadRequest(f"`{name}.{field}` is required")
        if not isinstance(value, str):
            raise BadRequest(f"`{name}.{field}` must be a string")
    return entity


def negotiated(body: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """The request without the obligations negotiation member, and whether masks may be sent
    as obligations (true unless the caller listed its types and `custom` is not one)."""
    context = body.get("context")
    if not isinstance(context, dict) or OBLIGATIONS_KEY not in context:
        return body, True
    supported = context[OBLIGATIONS_KEY]
    if not isinstance(supported, list):
        raise BadRequest(f"`context.{OBLIGATIONS_KEY}` must be an array of obligation types")
    rest = {k: v for k, v in context.items() if k != OBLIGATIONS_KEY}
    return {**body, "context": rest}, MASK_OBLIGATION in supported


def evaluate_one(body: Any, decide: Decide) -> dict[str, Any]:
    request, masks_supported = negotiated(read_evaluation(body))
    return evaluation_response(decide(request), masks_supported=masks_supported)


def evaluate_batch(body: Any, decide_many: DecideMany, max_batch: int) -> dict[str, Any]:
    """`evaluations`: order and length kept; an item's entity replaces the request's default
    whole (only a required identifier it lacks, such as `type`, comes from the default); an
    item that cannot be read is a deny with its error, not a failed batch; the two
    short-circuit semantics stop after the first deny or permit (what follows it is neither
    decided nor logged). The items that can be read are decided in one `decide_many` call."""
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object")
    items = body.get("evaluations")
    if items is None or items == []:
        request, masks_supported = negotiated(read_evaluation(body))
        (decision,) = decide_many([request], None)
        return evaluation_response(decision, masks_supported=masks_supported)
    if not isinstance(items, list):
        raise BadRequest("`evaluations` must be an array")
    if len(items) > max_batch:
        raise BadRequest(f"`evaluations` holds {len(items)} items, more than the limit {max_batch}")
    stops = _STOPS[_semantic(body.get("options"))]
    defaults = {name: body[name] for name in _ENTITIES if body.get(name) is not None}
    # Each item read in order: its error answer in place, or None where a decision goes.
    slots: list[dict[str, Any] | None] = []
    requests: list[dict[str, Any]] = []
    supported: list[bool] = []
    for item in items:
        try:
            request, masks_supported = negotiated(read_evaluation(_merged(defaults, item)))
        except BadRequest as exc:
            slots.append(error_response(str(exc)))
            if stops is _stop_on_deny:
                break  # an item that cannot be read is a deny: nothing after it is decided
            continue
        slots.append(None)
        requests.append(request)
        supported.append(masks_supported)
    share_equal_entities(requests)  # items of one subject and context are then read once
    answers = _decided(requests, supported, decide_many, stops)
    return {"evaluations": _in_order(slots, answers, stops)}


def _decided(
    requests: list[dict[str, Any]],
    supported: list[bool],
    decide_many: DecideMany,
    stops: Callable[[dict[str, Any]], bool] | None,
) -> list[dict[str, Any]]:
    """The answers to `requests` in order, up to and including the first that `stops`."""
    if stops is None:
        decisions = decide_many(requests, None)
        return [
            evaluation_response(d, masks_supported=s)
            for d, s in zip(decisions, supported, strict=True)
        ]
    answers: list[dict[str, Any]] = []

    def answered(decision: Decision) -> bool:
        answer = evaluation_response(decision, masks_supported=supported[len(answers)])
        answers.append(answer)
        return stops(answer)

    decide_many(requests, answered)
    return answers


def _in_order(
    slots: list[dict[str, Any] | None],
    answers: list[dict[str, Any]],
    stops: Callable[[dict[str, Any]], bool] | None,
) -> list[dict[str, Any]]:
    """The error answers and the decided ones in the items' order, cut after the first that
    stops the batch."""
    decided = iter(answers)
    ordered = []
    for slot in slots:
        answer = next(decided, None) if slot is None else slot
        if answer is None:  # not decided: an earlier decision stopped the batch
            break
        ordered.append(answer)
        if stops is not None and stops(answer):
            break
    return ordered


def _stop_on_deny(answer: dict[str, Any]) -> bool:
    return not answer["decision"]


def _stop_on_permit(answer: dict[str, Any]) -> bool:
    return bool(answer["decision"])


_STOPS: Mapping[str, Callable[[dict[str, Any]], bool] | None] = {
    "execute_all": None,
    "deny_on_first_deny": _stop_on_deny,
    "permit_on_first_permit": _stop_on_permit,
}


def _semantic(options: Any) -> str:
    if options is None:
        return "execute_all"
    if not isinstance(options, dict):
        raise BadRequest("`options` must be an object")
    semantic = options.get("evaluations_semantic", "execute_all")
    if semantic not in SEMANTICS:
        raise BadRequest(
            f"unknown evaluations_semantic `{semantic}` (known: {', '.join(SEMANTICS)})"
        )
    return str(semantic)


def _merged(defaults: dict[str, Any], item: Any) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise BadRequest("each evaluation must be an object")
    merged = {**defaults, **item}
    if defaults.keys().isdisjoint(item) and None not in item.values():
        return merged  # the common case: each entity given once, no explicit nulls
    for name, own in item.items():
        default = defaults.get(name)
        if default is None:
            if own is None:
                del merged[name]
            continue
        if own is None:  # an explicit null falls back to the default
            merged[name] = default
        elif name in REQUIRED and isinstance(own, dict) and isinstance(default, dict):
            missing = {f: default[f] for f in REQUIRED[name] if f not in own and f in default}
            if missing:
                merged[name] = {**missing, **own}
    return merged
