"""The batch endpoint's one `decide_many` call answers exactly what deciding each item alone
answers: same decisions, reasons, policies, obligations and errors, in the same order and
length under all three `evaluations_semantic` values, with nothing decided (or logged) after a
short-circuit; over mixed subjects, contexts, defaults and malformed items."""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from governance import Engine
from governance.logs import BackgroundLog, FileSink
from governance.server.authzen import (
    SEMANTICS,
    BadRequest,
    _merged,
    _semantic,
    error_response,
    evaluate_batch,
    evaluate_one,
)
from tests.server.conftest import ROOT

ENGINE = Engine.from_path(ROOT / "policies")
PERSONAS = [
    {"type": p.get("type", "User"), "id": p["id"], "properties": p.get("properties", {})}
    for p in yaml.safe_load((ROOT / "policies/fixtures.yaml").read_text())["principals"].values()
]
PRODUCTS = sorted(ENGINE.snapshot.products)
PURPOSES = ["hr_administration", "analytics", "reporting", "marketing", "audit"]

# Subjects: the fixtures' personas, and the same with values the schema refuses or types
# differently (a boolean where a Long is declared, an undeclared attribute), or unreadable.
_persona = st.sampled_from(PERSONAS)
_odd_subject = st.builds(
    lambda p, key, value: {**p, "properties": {**p["properties"], key: value}},
    _persona,
    st.sampled_from(["clearance", "employment", "unknown_attribute"]),
    st.sampled_from([1, True, "2", 3, None, [1], 2.5]),
)
_subject = _persona | _odd_subject | st.sampled_from([None, "dave", {"id": "x"}, {}])
_context = st.builds(lambda purpose: {"purpose": purpose}, st.sampled_from(PURPOSES)) | st.sampled_from([
    None, {}, {"purpose": 3}, {"purpose": "analytics", "extra": True}, [],
    {"purpose": "hr_administration", "supported_obligations": []},
    {"purpose": "hr_administration", "supported_obligations": ["custom"]},
    {"purpose": "hr_administration", "supported_obligations": "custom"},
])  # fmt: skip
_resource = st.builds(
    lambda product: {"type": "DataProduct", "id": product}, st.sampled_from(PRODUCTS)
) | st.sampled_from([
    {"type": "DataProduct", "id": "people.employees",
     "properties": {"columns": ["employee_id", "base_salary"]}},
    {"type": "DataProduct", "id": "people.employees", "properties": {"columns": ["nope"]}},
    {"type": "DataProduct", "id": "no.such_product"}, {"type": "Spaceship", "id": "x"},
    {"id": "sales.orders"}, None, 7,
])  # fmt: skip
_action = st.sampled_from([{"name": "read"}, {"name": "fly"}, None, {"name": 1}])


@st.composite
def _item(draw: st.DrawFn) -> Any:
    """Mostly well-formed items (a product, often a persona and a purpose of their own);
    some with any entity missing, null or malformed, and a few that are not objects."""
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return draw(st.sampled_from([None, 3, "item", []]))
    if kind <= 2:
        entities = {"subject": _subject, "action": _action, "resource": _resource}
        item = {name: draw(v) for name, v in entities.items() if draw(st.booleans())}
        if draw(st.booleans()):
            item["context"] = draw(_context)
        return item
    item = {"resource": {"type": "DataProduct", "id": draw(st.sampled_from(PRODUCTS))}}
    if draw(st.integers(0, 3)):
        item["subject"] = draw(_persona if draw(st.integers(0, 4)) else _odd_subject)
    if draw(st.booleans()):
        item["context"] = {"purpose": draw(st.sampled_from(PURPOSES))}
    return item


@st.composite
def batches(draw: st.DrawFn) -> dict[str, Any]:
    """A batch as callers send it: some entities as request-level defaults (often the subject
    and context, shared by many items), items repeating or replacing them."""
    body: dict[str, Any] = {"action": {"name": "read"}} if draw(st.integers(0, 4)) else {}
    if draw(st.booleans()):
        body["subject"] = draw(_persona)
    if draw(st.booleans()):
        body["context"] = draw(_context)
    # Items share subjects and contexts by value, as decoded JSON does, in runs and apart.
    pool = draw(st.lists(_item(), min_size=1, max_size=6))
    body["evaluations"] = [
        copy.deepcopy(draw(st.sampled_from(pool))) for _ in range(draw(st.integers(1, 25)))
    ]
    semantic = draw(st.sampled_from([None, *SEMANTICS]))
    if semantic is not None:
        body["options"] = {"evaluations_semantic": semantic}
    return body


def one_at_a_time(body: dict[str, Any], engine: Engine) -> list[dict[str, Any]]:
    """The oracle: each item merged with the defaults and decided alone by `engine.decide`."""
    semantic = _semantic(body.get("options"))
    entities = ("subject", "action", "resource", "context")
    defaults = {n: body[n] for n in entities if body.get(n) is not None}
    answers = []
    for item in body["evaluations"]:
        try:
            answer = evaluate_one(_merged(defaults, item), engine.decide)
        except BadRequest as exc:
            answer = error_response(str(exc))
        answers.append(answer)
        if (semantic == "deny_on_first_deny" and not answer["decision"]) or (
            semantic == "permit_on_first_permit" and answer["decision"]
        ):
            break
    return answers


def _without_ids(answers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Answers less the decision ids, which are unique per decision by design."""
    return [{**a, "context": {k: v for k, v in a["context"].items() if k != "id"}} for a in answers]


def _many(engine: Engine) -> Any:
    return lambda requests, until: engine.decide_many(requests, until=until)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches())
def test_a_batch_answers_as_each_item_alone(body: dict[str, Any]) -> None:
    expected = one_at_a_time(copy.deepcopy(body), ENGINE)
    answered = evaluate_batch(copy.deepcopy(body), _many(ENGINE), 1000)["evaluations"]
    assert _without_ids(answered) == _without_ids(expected)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches())
def test_nothing_after_a_short_circuit_is_decided_or_logged(body: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory(prefix="govern-batch-log-") as folder:  # per example
        log = BackgroundLog(FileSink(Path(folder)))
        logged = Engine(ENGINE.snapshot, log=log)
        answers = evaluate_batch(copy.deepcopy(body), _many(logged), 1000)["evaluations"]
        log.close()
    decided = [a for a in answers if "error" not in a["context"]]
    assert log.stats().enqueued == len(decided)


def test_one_principal_across_many_products_shares_its_check_and_answers_alike() -> None:
    """The common batch: the subject and context as defaults, one item per product."""
    dave = next(p for p in PERSONAS if p["id"] == "dave")
    body = {
        "subject": dave,
        "action": {"name": "read"},
        "context": {"purpose": "hr_administration"},
        "evaluations": [{"resource": {"type": "DataProduct", "id": p}} for p in PRODUCTS * 3],
    }
    answered = evaluate_batch(copy.deepcopy(body), _many(ENGINE), 1000)["evaluations"]
    assert len(answered) == 3 * len(PRODUCTS)
    assert _without_ids(answered) == _without_ids(one_at_a_time(body, ENGINE))
    assert any(a["decision"] for a in answered) and not all(a["decision"] for a in answered)


def test_a_value_the_schema_refuses_is_not_let_through_by_an_accepted_one() -> None:
    """`True == 1` in Python: a boolean clearance after an accepted integer one of the same
    principal, in the same batch and far apart, is still refused."""
    dave = next(p for p in PERSONAS if p["id"] == "dave")
    flipped = {**dave, "properties": {**dave["properties"], "clearance": True}}
    resource = {"type": "DataProduct", "id": "people.employees"}
    items = [{"subject": dave, "resource": resource}] * 3 + [
        {"subject": {"type": "User", "id": "erin"}, "resource": resource},
        {"subject": flipped, "resource": resource},
    ]
    body = {"action": {"name": "read"}, "context": {"purpose": "hr_administration"}}
    answered = evaluate_batch({**body, "evaluations": items}, _many(ENGINE), 1000)["evaluations"]
    assert answered[0]["decision"] is True
    assert answered[-1]["decision"] is False
    assert _without_ids(answered) == _without_ids(
        one_at_a_time({**body, "evaluations": items}, ENGINE)
    )


def test_deny_on_first_deny_decides_nothing_after_an_unreadable_item(tmp_path: Path) -> None:
    dave = next(p for p in PERSONAS if p["id"] == "dave")
    resource = {"type": "DataProduct", "id": "people.employees"}
    body = {
        "subject": dave, "action": {"name": "read"}, "context": {"purpose": "hr_administration"},
        "options": {"evaluations_semantic": "deny_on_first_deny"},
        "evaluations": [{"resource": resource}, {"resource": 7}, {"resource": resource}],
    }  # fmt: skip
    log = BackgroundLog(FileSink(tmp_path))
    answers = evaluate_batch(body, _many(Engine(ENGINE.snapshot, log=log)), 1000)["evaluations"]
    log.close()
    assert [a["decision"] for a in answers] == [True, False]
    assert answers[1]["context"]["error"]["status"] == 400
    assert log.stats().enqueued == 1


def test_over_http_a_batch_answers_as_its_items_posted_alone(server: Any) -> None:
    """A real server: a batch of mixed personas, products and purposes (the load benchmark's
    body) against each item merged with the defaults and posted to the single endpoint."""
    from tests.benchmarks.server_load import batch_body

    body = batch_body()
    for semantic in SEMANTICS:
        sent = {**body, "options": {"evaluations_semantic": semantic}}
        response = server.post("/access/v1/evaluations", json=sent)
        assert response.status_code == 200
        answered = response.json()["evaluations"]
        alone = []
        for item in body["evaluations"]:
            single = server.post(
                "/access/v1/evaluation", json={**item, **{"action": body["action"]}}
            )
            alone.append(single.json())
            decision = alone[-1]["decision"]
            if (semantic == "deny_on_first_deny" and not decision) or (
                semantic == "permit_on_first_permit" and decision
            ):
                break
        assert _without_ids(answered) == _without_ids(alone)
        assert len(answered) == (
            len(body["evaluations"]) if semantic == "execute_all" else len(alone)
        )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.sampled_from([1, True, 1.0, 0, False, "1", 3]), min_size=2, max_size=6),
    st.lists(st.sampled_from(PRODUCTS), min_size=1, max_size=4),
    st.sampled_from([{"purpose": 1}, {"purpose": True}, {"purpose": "hr_administration"}]),
)
def test_equal_values_of_other_types_share_nothing(
    values: list[Any], products: list[str], context: dict[str, Any]
) -> None:
    """Items of one subject id whose properties are equal in Python (`1 == True == 1.0`) but
    not in JSON are each decided as they are, as are equal-looking contexts."""
    dave = next(p for p in PERSONAS if p["id"] == "dave")
    items = [
        {
            "subject": {**dave, "properties": {**dave["properties"], "clearance": value}},
            "resource": {"type": "DataProduct", "id": product},
            "context": {"purpose": context["purpose"] if i % 2 else "hr_administration"},
        }
        for value in values
        for i, product in enumerate(products)
    ]
    body = {"action": {"name": "read"}, "evaluations": items}
    expected = one_at_a_time(copy.deepcopy(body), ENGINE)
    answered = evaluate_batch(copy.deepcopy(body), _many(ENGINE), 1000)["evaluations"]
    assert _without_ids(answered) == _without_ids(expected)
