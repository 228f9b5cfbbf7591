"""AuthZEN 1.0 evaluation and batch evaluation: request reading and response shapes."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from governance.decision import Decision

SEMANTICS = ("execute_all", "deny_on_first_deny", "permit_on_first_permit")
_ENTITIES = ("subject", "action", "resource", "context")


class BadRequest(ValueError):
    """A request body that is not an AuthZEN request: answered 400 with the message."""


def evaluation_response(decision: Decision) -> dict[str, Any]:
    """`{"decision": bool, "context": {...}}`: the reason, kind and deciding policies, and each
    mask as a `custom` obligation naming its column and strategy."""
    access = decision.access
    context: dict[str, Any] = {
        "id": decision.decision_id,
        "reason": decision.to_dict()["reason"],
        "kind": access.kind,
        "policies": [p.id for p in access.policies],
    }
    if decision.masks:
        context["obligations"] = [
            {
                "type": "custom",
                "properties": {
                    "column": m.column,
                    "strategy": {**m.strategy.to_dict(), **m.rule.to_dict()},
                },
            }
            for m in decision.masks
        ]
    return {"decision": decision.allowed, "context": context}


def read_evaluation(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object")
    for name in ("subject", "action", "resource"):
        if not isinstance(body.get(name), dict):
            raise BadRequest(f"`{name}` must be an object")
    if "context" in body and not isinstance(body["context"], dict):
        raise BadRequest("`context` must be an object")
    return body


def evaluate_batch(
    body: Any, decide: Callable[[Mapping[str, Any]], Decision], max_batch: int
) -> dict[str, Any]:
    """`evaluations`: each item's entity replaces the request's default whole; order and length
    are kept; the two short-circuit semantics stop after the first deny or permit."""
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object")
    items = body.get("evaluations")
    if items is None or items == []:
        return evaluation_response(decide(read_evaluation(body)))
    if not isinstance(items, list):
        raise BadRequest("`evaluations` must be an array")
    if len(items) > max_batch:
        raise BadRequest(f"`evaluations` holds {len(items)} items, more than the limit {max_batch}")
    options = body.get("options") or {}
    if not isinstance(options, dict):
        raise BadRequest("`options` must be an object")
    semantic = options.get("evaluations_semantic", "execute_all")
    if semantic not in SEMANTICS:
        raise BadRequest(
            f"unknown evaluations_semantic `{semantic}` (known: {', '.join(SEMANTICS)})"
        )
    defaults = {name: body[name] for name in _ENTITIES if name in body}
    answers = []
    for item in items:
        if not isinstance(item, dict):
            raise BadRequest("each evaluation must be an object")
        answer = evaluation_response(decide(read_evaluation({**defaults, **item})))
        answers.append(answer)
        if (semantic == "deny_on_first_deny" and not answer["decision"]) or (
            semantic == "permit_on_first_permit" and answer["decision"]
        ):
            break
    return {"evaluations": answers}
