"""SPEC 5 (request side): a request the engine cannot understand is denied with a reason,
never an exception and never an allow."""

from __future__ import annotations

import copy
import json

import pytest

from governance import AccessRequest
from tests.treebuilder import TreeBuilder, request

# Everything is permitted here, so any deny below comes from refusing the request itself.
ALLOW_ALL = '@id("all")\npermit (principal, action, resource);\n'


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    t = TreeBuilder(tmp_path_factory.mktemp("requests"))
    t.cedar("global", ALLOW_ALL)
    t.product("sales.orders", ["order_id", {"name": "email", "classification": "confidential"}])
    return t.engine()


def test_well_formed_request_is_allowed(engine):
    d = engine.decide(request(clearance=1, context={"purpose": "analytics"}))
    assert d.allowed
    assert d.refusal == ""


def _with(path, value):
    r = request()
    node = r
    for key in path[:-1]:
        node = node[key]
    if value is _DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return r


_DELETE = object()

MALFORMED = {
    "unknown product": (request(product="sales.nope"), "sales.nope"),
    "unknown action": (request(action="teleport"), "teleport"),
    "no subject": (_with(("subject",), _DELETE), "subject"),
    "no action": (_with(("action",), _DELETE), "action"),
    "no resource": (_with(("resource",), _DELETE), "resource"),
    "subject not an object": (_with(("subject",), "alice"), "subject"),
    "empty subject id": (_with(("subject", "id"), ""), "subject.id"),
    "numeric subject id": (_with(("subject", "id"), 42), "subject.id"),
    "action name missing": (_with(("action", "name"), _DELETE), "action.name"),
    "resource id not a string": (_with(("resource", "id"), ["sales.orders"]), "resource.id"),
    "resource is a column": (_with(("resource", "type"), "Column"), "Column"),
    "groups not a list": (_with(("subject", "properties", "groups"), "admins"), "groups"),
    "groups hold a number": (_with(("subject", "properties", "groups"), [1]), "groups"),
    "properties not an object": (_with(("subject", "properties"), [1, 2]), "properties"),
    "context not an object": (_with(("context",), "analytics"), "context"),
    "columns not a list": (_with(("resource", "properties"), {"columns": "email"}), "columns"),
    "unknown column": (request(columns=["email", "ssn"]), "ssn"),
    "float attribute": (request(score=0.5), "float"),
    "float in context": (request(context={"purpose": 1.5}), "context.purpose"),
    "float in a set": (request(levels=[1, 2.5]), "float"),
    "long overflow": (request(clearance=2**63), "Long"),
    "null attribute": (request(department=None), "department"),
    "reserved subject type": (_with(("subject", "type"), "DataProduct"), "DataProduct"),
}


@pytest.mark.parametrize("label", sorted(MALFORMED))
def test_malformed_request_is_a_reasoned_deny(engine, label):
    raw, needle = MALFORMED[label]
    before = copy.deepcopy(raw)
    decision = engine.decide(raw)
    assert decision.allowed is False
    d = decision.to_dict()
    assert d["allowed"] is False
    assert d["access"]["effect"] == "deny"
    assert d["reason"], label
    assert needle in d["reason"], (label, d["reason"])
    assert "policy" not in d["reason"].split(":")[0]  # a refusal, not a policy decision
    assert d["masks"] == []
    assert raw == before  # the caller's request is not mutated
    json.dumps(d)


@pytest.mark.parametrize(
    "raw", [None, 42, "read sales.orders", ["subject", "action"], b"{}", 3.14, object()]
)
def test_non_dict_request_is_a_reasoned_deny(engine, raw):
    decision = engine.decide(raw)  # type: ignore[arg-type]
    assert decision.allowed is False
    d = decision.to_dict()
    assert d["allowed"] is False
    assert "object" in d["reason"]
    json.dumps(d)


def test_typed_request_with_float_attribute_is_denied(engine):
    typed = AccessRequest("alice", "read", "sales.orders", attributes={"score": 0.5})
    d = engine.decide(typed).to_dict()
    assert d["allowed"] is False
    assert "float" in d["reason"]


def test_typed_request_for_unknown_product_is_denied(engine):
    d = engine.decide(AccessRequest("alice", "read", "nope.nope")).to_dict()
    assert d["allowed"] is False
    assert "nope.nope" in d["reason"]


def test_refusal_has_no_classification_or_retention(engine):
    d = engine.decide(request(product="sales.nope")).to_dict()
    assert d["classification"] is None
    assert d["retention"] is None
    assert d["access"]["kind"] == "not_permitted"
    assert d["access"]["policies"] == []


@pytest.mark.parametrize("value", [b"secret", {"a", "b"}])
def test_refusal_of_unserialisable_request_is_still_json(engine, value):
    decision = engine.decide(request(token=value))
    assert decision.allowed is False
    json.dumps(decision.to_dict())


def test_decide_many_mixes_good_and_bad_requests(engine):
    decisions = engine.decide_many([request(), None, request(action="fly"), request()])
    assert [d.allowed for d in decisions] == [True, False, False, True]
    assert len({d.decision_id for d in decisions}) == 4


def test_decision_has_the_stable_fields(engine):
    d = engine.decide(request(columns=["email"])).to_dict()
    assert {
        "decision_id", "allowed", "request", "reason", "access", "masks", "classification",
        "retention", "revisions", "evaluated_at",
    } <= set(d)  # fmt: skip
    assert set(d["revisions"]) == {"global", "sales"}
    assert d["evaluated_at"].startswith("2026-06-01")
    json.dumps(d)


def test_decision_time_is_the_engine_clock_to_the_microsecond(tmp_path):
    import datetime as dt

    from governance import Engine

    t = TreeBuilder(tmp_path)
    t.cedar("global", ALLOW_ALL)
    t.product("sales.orders", ["order_id"])
    moment = dt.datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=dt.UTC)
    d = Engine.from_path(t.root, clock=lambda: moment).decide(request())
    assert d.evaluated_at == moment
    assert d.to_dict()["evaluated_at"] == "2026-03-04T05:06:07.891011+00:00"


def test_system_clock_decisions_carry_the_current_time(engine):
    import datetime as dt

    from governance import Engine

    before = dt.datetime.now(dt.UTC)
    d = Engine(engine.snapshot).decide(request())
    assert before - dt.timedelta(seconds=1) <= d.evaluated_at <= dt.datetime.now(dt.UTC)
