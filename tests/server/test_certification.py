"""The AuthZEN 1.0 certification scenario's structural cases, against a real server over HTTP.

The scenario (openid/authzen, certification/authorization-api-1_0-scenario.md) checks protocol
conformance with its own fixture (alice, record-1, ...). govern's entity types are `User` and
`DataProduct`, so the same cases are sent with the example organisation's personas; the section
numbers of the scenario are in each test's name.
"""

from __future__ import annotations

import pytest

DAVE = {
    "type": "User",
    "id": "dave",
    "properties": {"groups": ["hr-partners"], "clearance": 3, "employment": "employee"},
}
IVAN = {"type": "User", "id": "ivan", "properties": {"groups": []}}
ABSENCES = {"type": "DataProduct", "id": "people.absences"}
HR = {"purpose": "hr_administration"}
PERMIT = {"subject": DAVE, "action": {"name": "read"}, "resource": ABSENCES, "context": HR}
DENY = {**PERMIT, "subject": IVAN}


def post(server, path, body, **kwargs):
    return server.post(f"/access/v1/{path}", json=body, **kwargs)


def test_c_2_2_permit_deny_context_and_unknown_fields(server):
    assert post(server, "evaluation", PERMIT).json()["decision"] is True
    assert post(server, "evaluation", DENY).json()["decision"] is False
    # The scenario's context (`time`, `ip`) is policy data: the example schema declares
    # `ticket` and `region` instead, and a context attribute it does not declare is refused
    # (as Cedar given the schema refuses it); unknown protocol fields are ignored.
    extra = {
        **PERMIT,
        "context": {**HR, "ticket": "CHG-2291", "region": "eu"},
        "action": {"name": "read", "properties": {"method": "GET"}},
        "foo": "bar",
        "futureField": {"nested": True},
    }
    response = post(server, "evaluation", extra)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json()["decision"] is True
    assert isinstance(response.json()["context"], dict)
    undeclared = {**extra, "context": {**HR, "time": "2025-06-27T18:03-07:00"}}
    refused = post(server, "evaluation", undeclared)
    assert refused.status_code == 200 and refused.json()["decision"] is False
    assert "`context.time`" in refused.json()["context"]["reason"]


def drop(entity: str, field: str | None = None):
    body = {k: dict(v) for k, v in PERMIT.items()}
    if field is None:
        del body[entity]
    else:
        del body[entity][field]
    return body


@pytest.mark.parametrize(
    "body",
    [
        drop("subject"),
        drop("action"),
        drop("resource"),
        drop("subject", "type"),
        drop("subject", "id"),
        drop("action", "name"),
        drop("resource", "type"),
        drop("resource", "id"),
        {**PERMIT, "subject": "dave"},
        {**PERMIT, "action": {"name": 123}},
        {**PERMIT, "context": "hr"},
    ],
)
def test_c_2_4_missing_or_mistyped_fields_are_400(server, body):
    response = post(server, "evaluation", body)
    assert response.status_code == 400
    assert isinstance(response.json()["error"], str)


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b'{"subject": {}}', "text/plain"),  # c-2-4-3: not application/json
        (b"{not json", "application/json"),  # c-2-4-4
        (b"", "application/json"),  # c-2-4-5: empty body
        (b"[1, 2]", "application/json"),  # the top level must be an object
    ],
)
def test_c_2_4_bodies_that_are_not_json_objects_are_400(server, content, content_type):
    response = server.post(
        "/access/v1/evaluation", content=content, headers={"Content-Type": content_type}
    )
    assert response.status_code == 400


def test_content_type_with_charset_is_accepted(server):
    import orjson

    response = server.post(
        "/access/v1/evaluation",
        content=orjson.dumps(PERMIT),
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert response.json()["decision"] is True


def test_c_2_5_request_id_on_every_endpoint(server):
    for path, body in [
        ("evaluation", PERMIT),
        ("evaluations", {"evaluations": [PERMIT]}),
        ("search/resource", {**PERMIT, "resource": {"type": "DataProduct"}}),
    ]:
        response = post(server, path, body, headers={"X-Request-ID": f"id-{path}"})
        assert response.headers["x-request-id"] == f"id-{path}"


def test_c_2_6_idempotent(server):
    assert {post(server, "evaluation", PERMIT).json()["decision"] for _ in range(5)} == {True}


def decisions(server, body):
    response = post(server, "evaluations", body)
    assert response.status_code == 200
    assert "decision" not in response.json()  # c-3-3-4: omitted with an evaluations array
    return [item["decision"] for item in response.json()["evaluations"]]


def test_c_3_2_batches_keep_order_defaults_and_overrides(server):
    by_subject = {"action": {"name": "read"}, "resource": ABSENCES, "context": HR}
    assert decisions(
        server, {**by_subject, "evaluations": [{"subject": DAVE}, {"subject": IVAN}]}
    ) == [True, False]
    assert decisions(server, {"evaluations": [PERMIT, DENY, PERMIT]}) == [True, False, True]
    overridden = {**PERMIT, "evaluations": [{}, {"context": {"purpose": "marketing"}}]}
    assert decisions(server, overridden) == [True, False]  # fmt: skip


def test_c_3_2_7_item_entity_replaces_the_default_but_keeps_required_identifiers(server):
    body = {
        "subject": DAVE,
        "action": {"name": "read"},
        "context": HR,
        "resource": {"type": "DataProduct", "properties": {"columns": ["no_such_column"]}},
        "evaluations": [
            {"resource": {"id": "people.absences"}},  # type from the default, properties not
            {"resource": {"id": "people.absences", "type": "Spaceship"}},
        ],
    }
    assert decisions(server, body) == [True, False]


def test_c_3_4_1_an_unreadable_item_is_a_deny_with_its_error(server):
    body = {"subject": DAVE, "action": {"name": "read"}, "context": HR,
            "evaluations": [{"resource": ABSENCES}, {}, "not an object"]}  # fmt: skip
    response = post(server, "evaluations", body)
    assert response.status_code == 200
    first, second, third = response.json()["evaluations"]
    assert first["decision"] is True
    assert second["decision"] is False and "resource" in second["context"]["error"]["message"]
    assert third["decision"] is False and third["context"]["error"]["status"] == 400


def test_c_3_4_short_circuits_count_an_unreadable_item_as_a_deny(server):
    body = {"subject": DAVE, "action": {"name": "read"}, "context": HR,
            "options": {"evaluations_semantic": "deny_on_first_deny"},
            "evaluations": [{"resource": ABSENCES}, {}, {"resource": ABSENCES}]}  # fmt: skip
    assert decisions(server, body) == [True, False]


def test_c_3_4_2_without_or_with_empty_evaluations_is_one_evaluation(server):
    for body in (PERMIT, {**PERMIT, "evaluations": []}):
        answer = post(server, "evaluations", body).json()
        assert answer["decision"] is True
        assert "evaluations" not in answer


def results(server, path, body, status=200):
    response = post(server, f"search/{path}", body)
    assert response.status_code == status, response.text
    return response.json()


def ids(answer):
    return [r.get("id", r.get("name")) for r in answer["results"]]


def test_c_4_2_subject_search_returns_permitted_personas_with_their_properties(server):
    body = {"subject": {"type": "User"}, "action": {"name": "read"},
            "resource": ABSENCES, "context": HR}  # fmt: skip
    answer = results(server, "subject", body)
    assert "dave" in ids(answer) and "erin" in ids(answer)
    assert "ivan" not in ids(answer)
    assert all(r["type"] == "User" for r in answer["results"])
    dave = next(r for r in answer["results"] if r["id"] == "dave")
    again = post(server, "evaluation", {**body, "subject": dave}).json()
    assert again["decision"] is True  # a search result evaluates as permitted


def test_c_4_3_resource_search_returns_permitted_products_with_mask_obligations(server):
    body = {"subject": DAVE, "action": {"name": "read"},
            "resource": {"type": "DataProduct"}, "context": HR}  # fmt: skip
    answer = results(server, "resource", body)
    assert "people.absences" in ids(answer) and "people.employees" in ids(answer)
    assert "sales.orders" not in ids(answer)
    employees = next(r for r in answer["results"] if r["id"] == "people.employees")
    assert {o["properties"]["column"] for o in employees["obligations"]} == {"base_salary"}
    for result in answer["results"]:
        resource = {"type": "DataProduct", "id": result["id"]}
        assert post(server, "evaluation", {**body, "resource": resource}).json()["decision"]


def test_c_4_4_action_search_omits_action(server):
    answer = results(server, "action", {"subject": DAVE, "resource": ABSENCES, "context": HR})
    assert "read" in ids(answer)
    assert all(set(r) <= {"name", "obligations"} for r in answer["results"])


def test_c_4_5_pagination_walks_every_result_once(server):
    body = {"subject": DAVE, "action": {"name": "read"},
            "resource": {"type": "DataProduct"}, "context": HR}  # fmt: skip
    everything = ids(results(server, "resource", body))
    seen, token = [], None
    for _ in range(len(everything) + 1):
        page = {"limit": 2} if token is None else {"limit": 2, "token": token}
        answer = results(server, "resource", {**body, "page": page})
        assert answer["page"]["count"] == len(answer["results"]) <= 2
        assert answer["page"]["total"] == len(everything)
        seen += ids(answer)
        token = answer["page"]["next_token"]
        assert isinstance(token, str)
        if not token:
            break
    assert seen == everything


def test_c_4_5_a_token_only_continues_its_own_search(server):
    body = {"subject": DAVE, "action": {"name": "read"},
            "resource": {"type": "DataProduct"}, "context": HR, "page": {"limit": 1}}  # fmt: skip
    token = results(server, "resource", body)["page"]["next_token"]
    assert token
    changed = {**body, "context": {"purpose": "marketing"}, "page": {"limit": 1, "token": token}}
    assert results(server, "resource", changed, 400)["error"]
    other_limit = {**body, "page": {"limit": 5, "token": token}}
    assert results(server, "resource", other_limit, 400)["error"]
    assert results(server, "resource", {**body, "page": {"token": "garbage!"}}, 400)["error"]
    assert results(server, "resource", {**body, "page": {"limit": -1}}, 400)["error"]
    assert results(server, "resource", {**body, "page": {"limit": 0}})["results"] == []


def test_c_4_6_unknown_identifiers_and_types_give_empty_results(server):
    nobody = {"type": "User", "id": "nonexistent-user"}
    assert results(server, "action", {"subject": nobody, "resource": ABSENCES})["results"] == []
    spaceships = {
        "subject": {"type": "spaceship"},
        "action": {"name": "read"},
        "resource": ABSENCES,
    }
    assert results(server, "subject", spaceships)["results"] == []
    records = {"subject": DAVE, "action": {"name": "read"}, "resource": {"type": "record"}}
    assert results(server, "resource", records)["results"] == []


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("subject", {"subject": {"type": "User"}, "resource": ABSENCES}),
        ("resource", {"action": {"name": "read"}, "resource": {"type": "DataProduct"}}),
        ("action", {"subject": DAVE}),
        (
            "subject",
            {
                "subject": {"type": "User"},
                "action": {"name": "read"},
                "resource": {"type": "DataProduct"},
            },
        ),
        (
            "resource",
            {
                "subject": {"type": "User"},
                "action": {"name": "read"},
                "resource": {"type": "DataProduct"},
            },
        ),
    ],
)
def test_c_4_7_search_missing_fields_are_400(server, path, body):
    assert results(server, path, body, 400)["error"]


def test_c_6_metadata_names_every_endpoint(server):
    config = server.get("/.well-known/authzen-configuration")
    assert config.headers["content-type"] == "application/json"
    body = config.json()
    base = body["policy_decision_point"]
    assert base == str(server.base_url).rstrip("/")
    for key, path in [
        ("access_evaluation_endpoint", "evaluation"),
        ("access_evaluations_endpoint", "evaluations"),
        ("search_subject_endpoint", "search/subject"),
        ("search_resource_endpoint", "search/resource"),
        ("search_action_endpoint", "search/action"),
    ]:
        assert body[key] == f"{base}/access/v1/{path}"
    assert body["supported_obligations"] == ["custom"]


def test_obligations_follow_the_profile_and_negotiation_denies_unmaskable_permits(server):
    employees = {**PERMIT, "resource": {"type": "DataProduct", "id": "people.employees"}}
    obligations = post(server, "evaluation", employees).json()["context"]["obligations"]
    assert len({o["id"] for o in obligations}) == len(obligations)
    assert all(o["type"] == "custom" and isinstance(o["properties"], dict) for o in obligations)
    cannot_mask = {**employees, "context": {**HR, "supported_obligations": ["notification"]}}
    answer = post(server, "evaluation", cannot_mask).json()
    assert answer["decision"] is False
    assert "cannot apply column masks" in answer["context"]["reason"]
    can_mask = {**employees, "context": {**HR, "supported_obligations": ["custom"]}}
    assert post(server, "evaluation", can_mask).json()["decision"] is True
    # a product without masks is unaffected by the negotiation
    plain = {**PERMIT, "context": {**HR, "supported_obligations": []}}
    assert post(server, "evaluation", plain).json()["decision"] is True


_MISTYPED = {**DAVE, "properties": {**DAVE["properties"], "clearance": "3"}}


@pytest.mark.parametrize(
    ("path", "body", "named"),
    [
        (
            "resource",
            {**PERMIT, "subject": _MISTYPED, "resource": {"type": "DataProduct"}},
            "clearance",
        ),
        ("action", {**PERMIT, "subject": {**DAVE, "type": "Admin"}}, "Admin"),
        ("subject", {**PERMIT, "subject": {"type": "User"}, "context": {"purpose": 5}}, "purpose"),
    ],
)
def test_a_search_the_schema_refuses_for_every_candidate_is_400_naming_why(
    server, path, body, named
):
    # It answered 200 with no results, which reads as "nothing is permitted".
    assert named in results(server, path, body, 400)["error"]
