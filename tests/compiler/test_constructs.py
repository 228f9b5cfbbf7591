"""One focused case per construct: the expected outcome, stated, and cedarpy agreeing with it."""

from __future__ import annotations

from typing import Any

import pytest

from governance.compiler import compile_policies
from tests.compiler.reference import Answer, cedar_answer, compiled_answer

ALLOW, DENY, ERROR = "allow", "deny", "error"

USER = {
    "uid": {"type": "User", "id": "u"},
    "attrs": {
        "name": "alice",
        "age": 30,
        "flag": True,
        "groups": [{"__entity": {"type": "Group", "id": "g"}}],
        "rec": {"a": {"b": 1}},
        "ip": {"__extn": {"fn": "ip", "arg": "10.1.2.3"}},
    },
    "parents": [{"type": "Group", "id": "g"}],
    "tags": {"team": "red", "n": 1},
}
GROUP = {
    "uid": {"type": "Group", "id": "g"},
    "attrs": {},
    "parents": [{"type": "Group", "id": "top"}],
}
ENTITIES = [USER, GROUP]
CONTEXT = {"n": 5, "s": "abc", "d": {"__extn": {"fn": "decimal", "arg": "1.5"}}}

CASES: list[tuple[str, str]] = [
    # boolean structure, short-circuit, type errors of operands
    ("true && true", ALLOW),
    ("false && (1 + true)", DENY),
    ("true || (1 + true)", ALLOW),
    ("1 && true", ERROR),
    ("true && 1", ERROR),
    ("false || 1", ERROR),
    ("!false", ALLOW),
    ("!1", ERROR),
    ("if true then true else 1", ALLOW),
    ("if 1 then true else true", ERROR),
    ("if false then 1 + true else true", ALLOW),
    # equality is never an error and is type-strict
    ('1 == "1"', DENY),
    ("1 != true", ALLOW),
    ("[1, true] == [true, 1]", ALLOW),
    ("[1, true].contains(1) && [1, true].contains(true) && ![1].contains(true)", ALLOW),
    ("{a: true} == {a: 1}", DENY),
    ('User::"u" == User::"u"', ALLOW),
    ('decimal("1.0") == decimal("1.0000")', ALLOW),
    ('ip("10.0.0.1/24") == ip("10.0.0.0/24")', DENY),
    # Long arithmetic and comparison
    ("1 + 2 * 3 == 7", ALLOW),
    ("9223372036854775807 + 1 > 0", ERROR),
    ("-9223372036854775807 - 1 < 0", ALLOW),
    ("-(-9223372036854775807 - 1) > 0", ERROR),
    ("4611686018427387904 * 2 > 0", ERROR),
    ('1 < "2"', ERROR),
    ('datetime("2024-01-01") < datetime("2024-01-02")', ALLOW),
    ('duration("1h") >= duration("60m")', ALLOW),
    ('decimal("1.0") < decimal("2.0")', ERROR),
    ('datetime("2024-01-01") < duration("1h")', ERROR),
    # strings
    ('"abc" like "a*"', ALLOW),
    ('"a*c" like "a\\*c"', ALLOW),
    ('"abc" like "a\\*c"', DENY),
    ('"ab\\nc" like "ab*c"', ALLOW),
    ('1 like "*"', ERROR),
    # attributes, has, missing entity/attribute
    ('principal.name == "alice"', ALLOW),
    ("principal.missing == 1", ERROR),
    ('User::"ghost".name == "x"', ERROR),
    ('User::"ghost" has name', DENY),
    ("principal has name", ALLOW),
    ("principal has rec.a.b", ALLOW),
    ("principal has rec.a.c", DENY),
    ("principal has name.first", ERROR),
    ("context.n == 5", ALLOW),
    ("context.nope", ERROR),
    ('context["s"] == "abc"', ALLOW),
    ("{a: 1}.a == 1", ALLOW),
    ("1.a", ERROR),
    ("1 has a", ERROR),
    # hierarchy and is
    ('principal in Group::"g" && principal in Group::"top"', ALLOW),
    ('principal in [Group::"x", Group::"top"]', ALLOW),
    ('User::"ghost" in User::"ghost"', ALLOW),
    ('User::"ghost" in Group::"g"', DENY),
    ('principal in [Group::"x", 1]', ERROR),
    ('1 in Group::"g"', ERROR),
    ("principal in principal.groups", ALLOW),
    ("principal is User", ALLOW),
    ('principal is User in Group::"top"', ALLOW),
    ('principal is Group in Group::"top"', DENY),
    ("1 is User", ERROR),
    # sets
    ("[1, 2].containsAll([2])", ALLOW),
    ("[1, 2].containsAny([3, true])", DENY),
    ("[].isEmpty()", ALLOW),
    ("1.contains(1)", ERROR),
    ("[1].containsAll(1)", ERROR),
    # tags
    ('principal.hasTag("team") && principal.getTag("team") == "red"', ALLOW),
    ('principal.getTag("nope") == 1', ERROR),
    ('User::"ghost".hasTag("team")', DENY),
    ('User::"ghost".getTag("team") == 1', ERROR),
    ("principal.hasTag(1)", ERROR),
    # extensions
    ('decimal("1.5").lessThan(decimal("1.50001"))', ERROR),
    ('context.d.greaterThanOrEqual(decimal("1.5"))', ALLOW),
    ('decimal("-0.5").lessThan(decimal("0.0"))', ALLOW),
    ('decimal("922337203685477.5808") == decimal("0.0")', ERROR),
    ('decimal(context.s) == decimal("0.0")', ERROR),
    ('principal.ip.isInRange(ip("10.0.0.0/8")) && principal.ip.isIpv4()', ALLOW),
    ('ip("::1").isLoopback() && ip("127.9.9.9").isLoopback() && !ip("::2").isLoopback()', ALLOW),
    ('ip("224.0.0.0/3").isMulticast()', DENY),
    ('ip("ff02::1").isMulticast() && ip("ff00::/8").isIpv6()', ALLOW),
    ('ip("::ffff:1.2.3.4").isIpv6()', ERROR),
    ('ip("1.2.3.4/08").isIpv4()', ERROR),
    ('"10.0.0.1".isIpv4()', ERROR),
    ('datetime("2024-10-15T11:38:02.101+1134").toTime() == duration("4m2s101ms")', ALLOW),
    ('datetime("1969-12-31T23:59:59.999Z").toDate() == datetime("1969-12-31")', ALLOW),
    ('datetime("1969-12-31T23:59:59.999Z").toTime().toMilliseconds() == 86399999', ALLOW),
    ('datetime("2024-02-30") == datetime("2024-02-30")', ERROR),
    ('datetime("2016-12-31T23:59:60Z") < datetime("2017-01-01")', ERROR),
    ('duration("-25h").toDays() == -1 && duration("-1ms").toSeconds() == 0', ALLOW),
    ('duration("106751991167d").toDays() > 0', ALLOW),
    ('duration("106751991168d").toDays() > 0', ERROR),
    ('datetime("9999-12-31").offset(duration("106751991167d")) > datetime("1970-01-01")', ERROR),
    ('datetime("2024-01-02").durationSince(datetime("2024-01-01")) == duration("1d")', ALLOW),
]


def request(context: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "principal": {"type": "User", "id": "u"},
        "action": {"type": "Action", "id": "read"},
        "resource": {"type": "Doc", "id": "d"},
        "context": CONTEXT if context is None else context,
    }


def expected_answer(outcome: str) -> Answer:
    if outcome == ALLOW:
        return Answer("Allow", frozenset({"policy0"}), frozenset())
    errors = frozenset({"policy0"}) if outcome == ERROR else frozenset()
    return Answer("Deny", frozenset(), errors)


@pytest.mark.parametrize(("condition", "outcome"), CASES)
def test_construct(condition: str, outcome: str) -> None:
    policy = f"permit(principal, action, resource) when {{ {condition} }};"
    expected = expected_answer(outcome)
    assert cedar_answer(request(), policy, ENTITIES) == expected, "the case's expectation is wrong"
    assert compiled_answer(compile_policies(policy), request(), ENTITIES) == expected


def test_unless_and_forbid_buckets() -> None:
    policies = """
        permit(principal, action, resource) unless { principal.flag };
        permit(principal, action, resource) unless { false };
        forbid(principal, action, resource) when { principal.age > 18 } unless { 1 };
        forbid(principal == User::"u", action, resource);
    """
    expected = Answer("Deny", frozenset({"policy3"}), frozenset({"policy2"}))
    assert cedar_answer(request(), policies, ENTITIES) == expected
    assert compiled_answer(compile_policies(policies), request(), ENTITIES) == expected


def test_scope_constraints() -> None:
    policies = """
        permit(principal in Group::"top", action == Action::"read", resource is Doc);
        permit(principal is User in Group::"g", action in [Action::"write"], resource);
        permit(principal == User::"other", action, resource == Doc::"d");
        permit(principal, action in Action::"read", resource in Doc::"d");
    """
    expected = Answer("Allow", frozenset({"policy0", "policy3"}), frozenset())
    assert cedar_answer(request(), policies, ENTITIES) == expected
    assert compiled_answer(compile_policies(policies), request(), ENTITIES) == expected
