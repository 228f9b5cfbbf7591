"""Requests are closed records, as cedarpy given the schema reads them: an attribute the schema
does not declare, a required one that is missing, or a value of another type, at any depth
(nested records, sets of records, entity references, extension values), is refused by the engine
exactly when cedarpy refuses to build the request, and the refusal names the attribute path.
Entity and extension values are read as Cedar given the schema reads them, so policies comparing
them decide as Cedar does."""

from __future__ import annotations

import copy
import json
import tempfile
from pathlib import Path
from typing import Any

import cedarpy
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from governance import AccessRequest, Decision, Engine
from tests.treebuilder import SCHEMA as BASE_SCHEMA
from tests.treebuilder import TreeBuilder

# A subject with required, optional, nested, set-of-record, entity and extension attributes, and
# a context with a required attribute and an optional nested record.
SCHEMA = BASE_SCHEMA.replace(
    "entity User in [Group] {\n  clearance: Long,\n  department?: String,\n};",
    """entity User in [Group] {
  clearance: Long,
  department?: String,
  address?: { city: String, zip?: Long, geo?: { lat: Long, lon: Long } },
  badges?: Set<{ name: String, level?: Long }>,
  manager?: User,
  budget?: decimal,
  home?: ipaddr,
  flags?: Set<Bool>,
};""",
).replace(
    "type RequestContext = { purpose?: String };",
    "type RequestContext = { purpose?: String, ticket: String, window?: { from: Long, to?: Long } };",
)
assert "badges" in SCHEMA and "ticket" in SCHEMA

ALLOW_ALL = '@id("all")\npermit (principal, action, resource);\n'
# Guardrails that read the entity and extension attributes: each must see what Cedar sees.
POLICIES = (
    ALLOW_ALL
    + """
@id("not-for-boss")
forbid (principal, action, resource) when { principal has manager && principal.manager == User::"boss" };
@id("big-budget")
forbid (principal, action, resource)
when { principal has budget && principal.budget.greaterThan(decimal("100.0")) };
@id("internal-network")
forbid (principal, action, resource)
when { principal has home && principal.home.isInRange(ip("10.0.0.0/8")) };
@id("no-window-before-zero")
forbid (principal, action, resource) when { context has window && context.window.from < 0 };
"""
)


def _engines() -> dict[str, Engine]:
    t = TreeBuilder(
        Path(tempfile.mkdtemp(prefix="govern-records-")), schema=SCHEMA, on_forbid_error="skip"
    )
    t.product("sales.orders", ["order_id"])
    t.cedar("global", POLICIES)
    return {name: t.engine(evaluator=name) for name in ("compiled", "reference")}


ENGINES = _engines()


def body(properties: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
    return {
        "subject": {"type": "User", "id": "ann", "properties": {"groups": ["g"], **properties}},
        "action": {"name": "read"},
        "resource": {"type": "DataProduct", "id": "sales.orders"},
        "context": context,
    }


def cedar_answer(request: dict[str, Any]) -> str:
    """cedarpy's answer given the schema: `refused` when it cannot build the request (entities
    and context are checked against the schema as Cedar checks them), else `allow` or `deny`."""
    properties = dict(request["subject"]["properties"])
    groups = properties.pop("groups")
    entities = [
        {"uid": {"type": "User", "id": "ann"}, "attrs": properties,
         "parents": [{"type": "Group", "id": g} for g in groups]},
        *({"uid": {"type": "Group", "id": g}, "attrs": {}, "parents": []} for g in groups),
    ]  # fmt: skip
    result = cedarpy.is_authorized(
        {"principal": 'User::"ann"', "action": 'Action::"read"',
         "resource": 'DataProduct::"sales.orders"', "context": request["context"]},
        POLICIES, json.dumps(entities), schema=SCHEMA,
    )  # fmt: skip
    if result.decision == cedarpy.Decision.NoDecision:
        return "refused"
    return "allow" if result.decision == cedarpy.Decision.Allow else "deny"


def cedar_builds(request: dict[str, Any]) -> bool:
    return cedar_answer(request) != "refused"


def engine_answer(decision: Decision) -> str:
    if decision.refusal:
        assert not decision.allowed and decision.reason_code, decision.reason
        return "refused"
    return "allow" if decision.allowed else "deny"


# --- conforming values, by declared type -----------------------------------------------------------

LONG = st.integers(-(2**63), 2**63 - 1)
TEXT = st.text(max_size=5)


def _record(
    required: dict[str, st.SearchStrategy[Any]], optional: dict[str, st.SearchStrategy[Any]]
) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(required, optional=optional)


GEO = _record({"lat": LONG, "lon": LONG}, {})
ADDRESS = _record({"city": TEXT}, {"zip": LONG, "geo": GEO})
BADGE = _record({"name": TEXT}, {"level": LONG})
ENTITY = st.sampled_from([
    {"type": "User", "id": "boss"}, {"__entity": {"type": "User", "id": "boss"}},
    {"type": "User", "id": "boss", "note": 1}, {"type": "User", "id": "peer"},
])  # fmt: skip
SUBJECT = _record(
    {"clearance": LONG},
    {"department": TEXT, "address": ADDRESS, "badges": st.lists(BADGE, max_size=3),
     "manager": ENTITY,
     "budget": st.sampled_from(["1.5", "-0.25", "12.3456", "150.0",
                                {"__extn": {"fn": "decimal", "arg": "250.5"}}]),
     "home": st.sampled_from(["10.0.0.1", "::1", "10.0.0.0/8", "192.168.1.1",
                              {"fn": "ip", "arg": "10.1.2.3"}]),
     "flags": st.lists(st.booleans(), max_size=3)},
)  # fmt: skip
CONTEXT = _record(
    {"ticket": TEXT},
    {"purpose": TEXT, "window": _record({"from": LONG}, {"to": LONG})},
)

# Values of every kind, to put where the schema expects something else (or nothing at all).
ANY = st.recursive(
    st.booleans() | st.integers(-5, 5) | TEXT | ENTITY
    | st.sampled_from(["1.5", "1.23456", "10.0.0.1", "nope", {"__entity": {"type": "Group", "id": "g"}},
                       {"__extn": {"fn": "decimal", "arg": "2.5"}}, {"__extn": {"fn": "ip", "arg": "::1"}}]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=6,
)  # fmt: skip


def _records_in(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """The path of every record (dict that is not an entity reference) in `value`."""
    found = []
    if isinstance(value, dict) and "type" not in value and "__entity" not in value:
        found.append(path)
        for key, inner in value.items():
            found += _records_in(inner, (*path, key))
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            found += _records_in(inner, (*path, i))
    return found


def _at(root: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        root = root[key]
    return root


@st.composite
def mutated(draw: st.DrawFn) -> dict[str, Any]:
    """A conforming request, then up to three mutations at any depth: an attribute added,
    one removed (required or not), one replaced by a value of any kind."""
    request = copy.deepcopy(body(draw(SUBJECT), draw(CONTEXT)))  # sampled values are shared
    for _ in range(draw(st.integers(0, 3))):
        roots = [("subject", "properties"), ("context",)]
        places = [(*root, *p) for root in roots for p in _records_in(_at(request, root))]
        record = _at(request, draw(st.sampled_from(places)))
        keys = sorted(k for k in record if k != "groups")
        choice = draw(st.sampled_from(["add", "drop", "replace"] if keys else ["add"]))
        if choice == "add":
            name = draw(st.sampled_from(["extra", "zip", "geo", "level", "to", "purpose"]) | TEXT)
            if name != "groups":
                record[name] = copy.deepcopy(draw(ANY))
        elif choice == "drop":
            del record[draw(st.sampled_from(keys))]
        else:
            record[draw(st.sampled_from(keys))] = copy.deepcopy(draw(ANY))
    return request


@settings(max_examples=300, deadline=None)
@given(mutated())
def test_the_engine_refuses_exactly_what_cedar_with_the_schema_refuses(
    request: dict[str, Any],
) -> None:
    expected = cedar_answer(copy.deepcopy(request))
    for name, engine in ENGINES.items():
        decision = engine.decide(request)
        assert engine_answer(decision) == expected, (name, decision.reason)


@settings(max_examples=100, deadline=None)
@given(SUBJECT, CONTEXT)
def test_every_conforming_request_is_decided_by_the_policies(
    properties: dict[str, Any], context: dict[str, Any]
) -> None:
    request = body(properties, context)
    expected = cedar_answer(copy.deepcopy(request))
    assert expected != "refused"
    for engine in ENGINES.values():
        assert engine_answer(engine.decide(request)) == expected


# --- what the refusal says ------------------------------------------------------------------------

GOOD_SUBJECT = {"clearance": 1}
GOOD_CONTEXT = {"ticket": "CHG-1"}
CASES = [
    ({"nickname": "x"}, {}, "unknown_attribute", "`subject.properties.nickname`"),
    ({"address": {"city": "Oslo", "country": "NO"}}, {}, "unknown_attribute",
     "`subject.properties.address.country`"),
    ({"address": {"city": "Oslo", "geo": {"lat": 1}}}, {}, "missing_attribute",
     "`subject.properties.address.geo.lon`"),
    ({"badges": [{"name": "a"}, {"level": 2}]}, {}, "missing_attribute",
     "`subject.properties.badges[1].name`"),
    ({"badges": [{"name": "a", "colour": "red"}]}, {}, "unknown_attribute",
     "`subject.properties.badges[0].colour`"),
    ({"clearance": None}, {}, "bad_request", "subject.properties.clearance"),
    ({"manager": {"type": "Group", "id": "g"}}, {}, "bad_request", "`subject.properties.manager`"),
    ({"manager": 'User::"boss"'}, {}, "bad_request", "`subject.properties.manager`"),
    ({"budget": "1.23456"}, {}, "bad_request", "`subject.properties.budget`"),
    ({"budget": {"__extn": {"fn": "ip", "arg": "::1"}}}, {}, "bad_request",
     "`subject.properties.budget`"),
    ({"home": 7}, {}, "bad_request", "`subject.properties.home`"),
    ({"flags": [True, "yes"]}, {}, "bad_request", "`subject.properties.flags[1]`"),
    ({}, {"ticket": "CHG-1", "priority": 1}, "unknown_attribute", "`context.priority`"),
    ({}, {"window": {"from": 1}}, "missing_attribute", "`context.ticket`"),
    ({}, {"ticket": "CHG-1", "window": {"to": 1}}, "missing_attribute", "`context.window.from`"),
]  # fmt: skip


@pytest.mark.parametrize("evaluator", sorted(ENGINES))
@pytest.mark.parametrize(("properties", "context", "code", "path"), CASES)
def test_a_refusal_names_the_attribute_path_and_what_is_wrong(
    evaluator: str, properties: dict[str, Any], context: dict[str, Any], code: str, path: str
) -> None:
    request = body({**GOOD_SUBJECT, **properties}, {**GOOD_CONTEXT, **context})
    if "ticket" not in context and context:
        del request["context"]["ticket"]
    assert not cedar_builds(copy.deepcopy(request))  # the case is one Cedar refuses too
    decision = ENGINES[evaluator].decide(request)
    assert not decision.allowed and decision.reason_code == code, decision.reason
    assert path in decision.reason
    what = {"unknown_attribute": "not declared", "missing_attribute": "requires"}.get(code)
    assert what is None or what in decision.reason


def test_a_missing_required_subject_attribute_is_refused() -> None:
    request = body({}, GOOD_CONTEXT)
    decision = ENGINES["compiled"].decide(request)
    assert decision.reason_code == "missing_attribute"
    assert "`subject.properties.clearance`" in decision.reason and "Long" in decision.reason


def test_the_typed_api_is_checked_the_same_way() -> None:
    request = AccessRequest(
        "ann", "read", "sales.orders", attributes={"clearance": 1, "nickname": "x"},
        context=GOOD_CONTEXT,
    )  # fmt: skip
    for engine in ENGINES.values():
        assert engine.decide(request).reason_code == "unknown_attribute"
        ok = request._replace(attributes={"clearance": 1})
        assert engine.decide(ok).allowed


# --- the action's principal types -----------------------------------------------------------------

SERVICE_SCHEMA = BASE_SCHEMA.replace("entity Group;", "entity Group;\nentity Service;").replace(
    "action read, write, export, share, delete appliesTo {\n  principal: [User],",
    "action read appliesTo {\n  principal: [User, Service],\n  resource: [DataProduct, Column],\n"
    "  context: RequestContext,\n};\naction write, export, share, delete appliesTo {\n"
    "  principal: [User],",
)
assert "principal: [User, Service]" in SERVICE_SCHEMA


@pytest.mark.parametrize("evaluator", ["compiled", "reference"])
def test_a_subject_type_the_action_does_not_apply_to_is_refused(tmp_path, evaluator: str) -> None:
    t = TreeBuilder(tmp_path, schema=SERVICE_SCHEMA)
    t.product("sales.orders", ["order_id"])
    t.cedar("global", ALLOW_ALL)
    engine = t.engine(evaluator=evaluator)

    def service(action: str) -> dict[str, Any]:
        return {"subject": {"type": "Service", "id": "etl"}, "action": {"name": action},
                "resource": {"type": "DataProduct", "id": "sales.orders"}}  # fmt: skip

    assert engine.decide(service("read")).allowed
    refused = engine.decide(service("write"))
    assert refused.reason_code == "bad_subject_type"
    assert "`Service`" in refused.reason and "write" in refused.reason
    result = cedarpy.is_authorized(
        {"principal": 'Service::"etl"', "action": 'Action::"write"',
         "resource": 'DataProduct::"sales.orders"', "context": {}},
        ALLOW_ALL, "[]", schema=SERVICE_SCHEMA,
    )  # fmt: skip
    assert result.decision == cedarpy.Decision.NoDecision  # Cedar refuses it too


@pytest.mark.parametrize("evaluator", sorted(ENGINES))
@pytest.mark.parametrize(
    "properties",
    [{"manager": {"type": "User", "id": "boss"}}, {"budget": "150.0"}, {"home": "10.0.0.1"},
     {"home": {"fn": "ip", "arg": "10.1.2.3"}}],
)  # fmt: skip
def test_entity_and_extension_values_are_read_as_cedar_with_the_schema_reads_them(
    evaluator: str, properties: dict[str, Any]
) -> None:
    # Read without the schema these would be a record and strings: the guardrail comparing them
    # would be false (or error and, under `skip`, be skipped), and the request allowed.
    request = body({**GOOD_SUBJECT, **properties}, GOOD_CONTEXT)
    assert cedar_answer(copy.deepcopy(request)) == "deny"
    decision = ENGINES[evaluator].decide(request)
    assert not decision.allowed and decision.access.kind == "forbidden", decision.reason


@pytest.mark.parametrize("evaluator", sorted(ENGINES))
@pytest.mark.parametrize("extra", [{"classification": "public"}, {"colums": ["order_id"]}])
def test_a_resource_property_other_than_columns_is_refused(
    evaluator: str, extra: dict[str, Any]
) -> None:
    request = body(GOOD_SUBJECT, GOOD_CONTEXT)
    request["resource"]["properties"] = {"columns": ["order_id"], **extra}
    decision = ENGINES[evaluator].decide(request)
    assert decision.reason_code == "unknown_attribute"
    assert f"`resource.properties.{next(iter(extra))}`" in decision.reason
    request["resource"]["properties"] = {"columns": ["order_id"]}
    assert ENGINES[evaluator].decide(request).allowed
