"""Reading `.cedar` files into identified, located policies (`layer/id`, file:line, @reason)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from governance.cedar_bridge import (
    HELD_ANNOTATIONS,
    cedar_accepts,
    entity_uids,
    parse_policies,
    pst,
    stand_in,
    with_id,
)
from governance.compiler.statements import Statement, nesting_failure, split_statements
from governance.errors import Location, Problem

POLICY_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
KNOWN_ANNOTATIONS = frozenset({"id", "reason", "waivable"})


@dataclass(frozen=True, slots=True)
class SourcePolicy:
    """One Cedar policy as a user wrote it, with everything a decision needs to name it."""

    full_id: str  # `layer/id`: the id cedarpy and the compiler report it by
    layer: str
    local_id: str
    effect: str
    template: pst.Template
    location: Location
    reason: str
    waivable: bool
    text: str
    # The entities the policy names, sorted by their text: read once, when the file is parsed.
    names: tuple[pst.EntityUid, ...] = ()


def nesting_problem(text: str, display: str, code: str) -> Problem | None:
    """A located problem when Cedar text nests deeper than its parser can safely take."""
    failure = nesting_failure(text, schema=code == "cedar-schema")
    if failure is None:
        return None
    line, column, message = failure
    return Problem(Location(display, line, column), code, message)


def read_policies(
    text: str, display: str, layer: str, problems: list[Problem]
) -> list[SourcePolicy]:
    """Every policy in one file, identified as `layer/id`; problems get the policy's line."""
    deep = nesting_problem(text, display, "cedar-syntax")
    if deep is not None:
        problems.append(deep)
        return []
    statements = split_statements(text)
    try:
        policy_set = parse_policies(text)
    except ValueError:
        accepted = cedar_accepts(text)
        if accepted is None:
            _report_syntax_errors(statements, display, problems)
            return []
        if accepted.get("templates"):
            _report_templates(statements, display, problems)
            return []
        held = _held_statements(statements, accepted, display, problems)
        return [
            policy
            for template, statement in held
            if (policy := _identify(template, statement, display, layer, problems))
        ]
    if policy_set.templates:
        _report_templates(statements, display, problems)
        return []
    parsed = list(policy_set.static_policies.values())
    if len(parsed) != len(statements):
        # A statement the splitter could not isolate: keep the policies, locate the file only.
        statements = [Statement(0, 0, "")] * len(parsed)
    return [
        policy
        for template, statement in zip(parsed, statements, strict=True)
        if (policy := _identify(template, statement, display, layer, problems))
    ]


def _report_templates(statements: list[Statement], display: str, problems: list[Problem]) -> None:
    # Templates need links this tree never makes; dropping them silently would also shift
    # every other policy's text and line, so the whole file is refused at the template.
    message = "Cedar templates (`?principal`, `?resource`) are not supported"
    places = [
        Location(display, s.line, s.column)
        for s in statements
        if "?principal" in s.text or "?resource" in s.text
    ] or [Location(display, 1, 1)]
    problems.extend(Problem(place, "cedar-template", message) for place in places)


def _held_statements(
    statements: list[Statement], accepted: dict[str, object], display: str, problems: list[Problem]
) -> list[tuple[pst.Template, Statement]]:
    """A file Cedar accepts but cedarpy's typed nodes cannot hold whole: each statement on its
    own, those the typed nodes cannot hold as stand-ins whose text cedarpy evaluates
    (`governance.cedar_bridge.stand_in`). Each statement must be isolated to be located and
    evaluated on its own; a file whose statements cannot be is refused."""
    static = accepted.get("staticPolicies")
    if not isinstance(static, dict) or len(static) != len(statements):
        message = (
            "Cedar accepts this file, but cedarpy's typed nodes cannot hold all of it and its "
            "statements cannot be told apart to evaluate them one by one"
        )
        problems.append(Problem(Location(display, 1, 1), "cedar-unsupported", message))
        return []
    held: list[tuple[pst.Template, Statement]] = []
    for statement in statements:
        location = Location(display, statement.line, statement.column)
        try:
            (template,) = parse_policies(statement.text).static_policies.values()
        except ValueError as exc:
            one = cedar_accepts(statement.text)
            policies = list((one or {}).get("staticPolicies", {}).values())
            if len(policies) != 1:
                message = "this statement cannot be read on its own"
                problems.append(Problem(location, "cedar-unsupported", message))
                return []
            try:
                template = stand_in(policies[0], statement.text, _one_line(str(exc)))
            except ValueError as refused:
                problems.append(Problem(location, "cedar-unsupported", str(refused)))
                return []
        held.append((template, statement))
    return held


def _report_syntax_errors(
    statements: list[Statement], display: str, problems: list[Problem]
) -> None:
    found = False
    for statement in statements:
        try:
            parse_policies(statement.text)
        except ValueError as exc:
            found = True
            location = Location(display, statement.line, statement.column)
            problems.append(Problem(location, "cedar-syntax", _one_line(str(exc))))
    if not found:  # the file fails only as a whole (e.g. an unterminated string)
        problems.append(
            Problem(Location(display, 1, 1), "cedar-syntax", "invalid Cedar policy text")
        )


def _identify(
    template: pst.Template, statement: Statement, display: str, layer: str, problems: list[Problem]
) -> SourcePolicy | None:
    location = Location(display, statement.line, statement.column)
    local_id = template.annotations.get("id")
    if local_id is None:
        problems.append(Problem(location, "missing-id", 'policy has no @id("...") annotation'))
        return None
    if not POLICY_ID.match(local_id):
        message = f"@id `{local_id}` must be letters, digits, `_`, `-` or `.`"
        problems.append(Problem(location, "bad-id", message))
        return None
    for name in sorted(set(template.annotations) - KNOWN_ANNOTATIONS - HELD_ANNOTATIONS):
        message = f"unknown annotation @{name} (known: @id, @reason, @waivable)"
        problems.append(Problem(location, "unknown-annotation", message, "warning"))
    waivable = template.annotations.get("waivable", "false")
    if waivable not in ("true", "false"):
        message = f'@waivable must be "true" or "false", not `{waivable}`'
        problems.append(Problem(location, "bad-annotation", message))
        return None
    full_id = f"{layer}/{local_id}"
    return SourcePolicy(
        full_id=full_id,
        layer=layer,
        local_id=local_id,
        effect=template.effect,
        template=with_id(template, full_id),
        location=location,
        reason=template.annotations.get("reason", ""),
        waivable=waivable == "true",
        text=statement.text,
        names=tuple(sorted(entity_uids(template), key=str)),
    )


def _one_line(message: str) -> str:
    return " ".join(message.split())
