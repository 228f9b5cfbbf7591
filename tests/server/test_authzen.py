"""AuthZEN 1.0 over real HTTP: evaluations, batch semantics, request ids, 400s, bearer tokens."""

from __future__ import annotations

import pytest

from tests.server.conftest import TOKEN

DAVE = {
    "type": "User",
    "id": "dave",
    "properties": {"groups": ["hr-partners"], "clearance": 2, "employment": "employee"},
}
EMPLOYEES = {
    "type": "DataProduct",
    "id": "people.employees",
    "properties": {"columns": ["employee_id", "base_salary"]},
}
HR = {"purpose": "hr_administration"}


def evaluation(**overrides):
    return {
        "subject": DAVE,
        "action": {"name": "read"},
        "resource": EMPLOYEES,
        "context": HR,
        **overrides,
    }


def test_allow_names_policies_and_masks_as_obligations(server):
    response = server.post("/access/v1/evaluation", json=evaluation())
    assert response.status_code == 200
    body = response.json()
    assert body["decision"] is True
    assert body["context"]["kind"] == "permitted"
    assert body["context"]["policies"] == ["people/partners-read"]
    (obligation,) = body["context"]["obligations"]
    assert obligation["type"] == "custom"
    assert obligation["properties"]["column"] == "base_salary"
    assert obligation["properties"]["strategy"]["name"] == "redact"
    assert obligation["properties"]["strategy"]["rule"] == "global/default"


def test_deny_is_200_false_with_a_reason(server):
    response = server.post(
        "/access/v1/evaluation", json=evaluation(context={"purpose": "marketing"})
    )
    assert response.status_code == 200
    assert response.json()["decision"] is False
    assert response.json()["context"]["reason"].startswith("denied")


def test_unknown_types_and_products_deny(server):
    body = evaluation(resource={"type": "Spaceship", "id": "x"})
    assert server.post("/access/v1/evaluation", json=body).json()["decision"] is False


@pytest.mark.parametrize(
    "content",
    [b"not json", b"[]", b'{"subject": "dave"}', b'{"subject": {}, "action": {}, "resource": 3}'],
)
def test_malformed_requests_are_400_with_a_message(server, content):
    response = server.post("/access/v1/evaluation", content=content)
    assert response.status_code == 400
    assert response.json()["error"]


def test_request_id_is_echoed_or_generated(server):
    echoed = server.post(
        "/access/v1/evaluation", json=evaluation(), headers={"X-Request-ID": "abc-1"}
    )
    assert echoed.headers["x-request-id"] == "abc-1"
    generated = server.post("/access/v1/evaluation", json=evaluation())
    assert len(generated.headers["x-request-id"]) == 36
    assert (
        server.post(
            "/access/v1/evaluation", content=b"{", headers={"X-Request-ID": "bad-1"}
        ).headers["x-request-id"]
        == "bad-1"
    )


def batch(semantic=None):
    body = {
        "subject": DAVE,
        "action": {"name": "read"},
        "context": HR,
        "evaluations": [
            {"resource": EMPLOYEES},
            {"resource": EMPLOYEES, "context": {"purpose": "marketing"}},  # replaces the default
            {"resource": EMPLOYEES},
        ],
    }
    if semantic:
        body["options"] = {"evaluations_semantic": semantic}
    return body


def decisions(server, body):
    response = server.post("/access/v1/evaluations", json=body)
    assert response.status_code == 200
    return [e["decision"] for e in response.json()["evaluations"]]


def test_batch_defaults_order_and_semantics(server):
    assert decisions(server, batch()) == [True, False, True]
    assert decisions(server, batch("execute_all")) == [True, False, True]
    assert decisions(server, batch("deny_on_first_deny")) == [True, False]
    assert decisions(server, batch("permit_on_first_permit")) == [True]


def test_batch_without_items_is_one_evaluation(server):
    response = server.post("/access/v1/evaluations", json=evaluation())
    assert response.json()["decision"] is True


def test_batch_errors_are_400(server):
    assert (
        server.post(
            "/access/v1/evaluations", json={**batch(), "options": {"evaluations_semantic": "all"}}
        ).status_code
        == 400
    )
    assert server.post("/access/v1/evaluations", json={"evaluations": {"a": 1}}).status_code == 400
    too_many = {**batch(), "evaluations": [{"resource": EMPLOYEES}] * 1001}
    assert server.post("/access/v1/evaluations", json=too_many).status_code == 400


def test_oversized_body_is_refused(server):
    response = server.post("/access/v1/evaluation", content=b" " * 2_000_000)
    assert response.status_code == 400


def test_configuration_health_and_ready(server):
    config = server.get("/.well-known/authzen-configuration").json()
    assert config["access_evaluation_endpoint"].endswith("/access/v1/evaluation")
    assert server.get("/health").json() == {"status": "ok"}
    assert server.get("/ready").json()["status"] == "ready"


def test_bearer_token_is_required_when_configured(guarded_server):
    assert guarded_server.post("/access/v1/evaluation", json=evaluation()).status_code == 401
    wrong = {"Authorization": "Bearer nope"}
    assert (
        guarded_server.post("/access/v1/evaluation", json=evaluation(), headers=wrong).status_code
        == 401
    )
    right = {"Authorization": f"Bearer {TOKEN}"}
    assert (
        guarded_server.post("/access/v1/evaluation", json=evaluation(), headers=right).json()[
            "decision"
        ]
        is True
    )
