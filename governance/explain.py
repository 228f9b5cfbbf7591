"""A decision as a person reads it in five seconds: who decided, why, what is masked, how long kept."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from governance.access.answer import PolicyRef
from governance.access.request import AccessRequest
from governance.decision import Decision, headline


def explain(decision: Decision, title: str = "", *, all_columns: bool = False) -> str:
    """The decision in a few lines; `all_columns` adds the classification of every column of
    the product (a decision itself carries only the columns the request read)."""
    lines = [f"== {title}"] if title else []
    lines.append(_request_line(decision.request))
    if decision.refusal:
        lines.append(f"  DENY   {decision.refusal}")
        return "\n".join(lines)
    lines += _access_lines(decision)
    lines += _mask_lines(decision)
    lines += _classification_lines(decision)
    if all_columns:
        lines += _column_lines(decision)
    lines += _retention_lines(decision)
    return "\n".join(lines)


def _request_line(request: AccessRequest | Mapping[str, Any]) -> str:
    if not isinstance(request, AccessRequest):
        # A refused request is shown as the JSON it came as, whatever values it holds.
        try:
            shown = json.dumps(dict(request), default=str, allow_nan=False)
        except (TypeError, ValueError, RecursionError):
            shown = "(not representable as JSON)"
        return f"request {shown}"
    groups = f" ({', '.join(request.groups)})" if request.groups else ""
    context = ", ".join(f"{k}={v}" for k, v in request.context.items())
    columns = "" if request.columns is None else f" columns [{', '.join(request.columns)}]"
    return f"{request.principal}{groups} -> {request.action} {request.product}{columns}" + (
        f"  [{context}]" if context else ""
    )


def _policy(ref: PolicyRef) -> str:
    return f"`{ref.id}` at {ref.location}"


def _access_lines(decision: Decision) -> list[str]:
    access = decision.access
    verdict = "ALLOW" if access.allowed else "DENY "
    lines = [f"  {verdict}  {headline(decision)}"]
    for ref in access.policies:
        lines.append(f"         {ref.layer} {ref.effect} {_policy(ref)}")
        if ref.reason:
            lines.append(f"         why: {ref.reason}")
    if access.kind == "not_permitted":
        lines.append("         no permit policy matched this principal, action and product")
    for waiver in access.waivers:
        lines.append(f"         guardrail lifted by waiver `{waiver}`")
    for error in access.errors:
        lines.append(f"         skipped `{error.policy}` (evaluation error): {error.message}")
    return lines


def _mask_lines(decision: Decision) -> list[str]:
    lines = []
    for mask in decision.masks:
        by = ", ".join(f"`{p.id}`" for p in mask.policies) or "no permit matched"
        lines.append(
            f"  MASK   {mask.column} ({mask.level}): {mask.kind.replace('_', ' ')} by {by}"
        )
    return lines


def _classification_lines(decision: Decision) -> list[str]:
    if decision.classification is None:
        return []
    product = decision.classification.product
    labels = f" [{', '.join(sorted(product.labels))}]" if product.labels else ""
    deciding = product.deciding[:1]
    why = f" from {deciding[0]}" if deciding else ""
    return [f"  CLASS  {product.level}{labels}{why}"]


def _column_lines(decision: Decision) -> list[str]:
    if decision.classification is None:
        return []
    lines = []
    for key, column in decision.classification.columns.items():
        labels = f" [{', '.join(sorted(column.labels))}]" if column.labels else ""
        deciding = column.deciding[:1]
        why = f" from {deciding[0]}" if deciding else ""
        lines.append(f"         column {key}: {column.level}{labels}{why}")
    return lines


def _retention_lines(decision: Decision) -> list[str]:
    retention = decision.retention
    if retention is None:
        return []
    parts = []
    if retention.min:
        parts.append(f"keep at least {retention.min}")
    if retention.max:
        parts.append(f"dispose within {retention.max}")
    if retention.on_expiry:
        parts.append(f"then {retention.on_expiry}")
    lines = [f"  KEEP   {', '.join(parts) or 'no retention rule applies'}"]
    by_role: dict[str, list[str]] = {}
    for source in retention.sources:
        by_role.setdefault(source.role, []).append(source.rule)
    for role in ("min", "max", "on_expiry"):
        if role in by_role:
            lines.append(f"         {role} from {', '.join(by_role[role])}")
    for source in retention.sources:
        if source.role == "hold":
            lines.append(f"  HOLD   legal hold `{source.rule}`: {source.value} (disposal blocked)")
    if retention.conflict:
        lines.append(f"  CONFLICT {retention.conflict.detail}")
    return lines
