"""Requests are checked against the Cedar schema: a type the schema does not describe is refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from governance import Engine

POLICIES = Path(__file__).resolve().parents[1] / "policies"
ENGINES = {name: Engine.from_path(POLICIES, evaluator=name) for name in ("compiled", "reference")}
GOOD = {"groups": ["hr-partners"], "clearance": 2, "employment": "employee"}


def request(properties: Any, subject_type: str = "User", context: Any = None) -> dict[str, Any]:
    return {
        "subject": {"type": subject_type, "id": "dave", "properties": properties},
        "action": {"name": "read"},
        "resource": {"type": "DataProduct", "id": "people.employees"},
        "context": {"purpose": "hr_administration"} if context is None else context,
    }


@pytest.mark.parametrize("evaluator", sorted(ENGINES))
@pytest.mark.parametrize(
    ("body", "attribute", "expected", "given_"),
    [
        (request({**GOOD, "clearance": "2"}), "subject.properties.clearance", "Long", "a string"),
        (request({**GOOD, "clearance": True}), "subject.properties.clearance", "Long", "a Bool"),
        (request({**GOOD, "employment": ["contractor"]}), "subject.properties.employment", "String", "a set"),
        (request(GOOD, context={"purpose": 7}), "context.purpose", "String", "a Long"),
    ],
)  # fmt: skip
def test_a_mistyped_attribute_is_refused_naming_it(
    evaluator: str, body: dict[str, Any], attribute: str, expected: str, given_: str
) -> None:
    decision = ENGINES[evaluator].decide(body)
    assert not decision.allowed and decision.reason_code == "bad_request"
    assert (
        attribute in decision.reason and expected in decision.reason and given_ in decision.reason
    )


@pytest.mark.parametrize("evaluator", sorted(ENGINES))
def test_a_subject_type_the_schema_does_not_declare_is_refused(evaluator: str) -> None:
    decision = ENGINES[evaluator].decide(request(GOOD, subject_type="Admin"))
    assert decision.reason_code == "bad_subject_type" and "`Admin`" in decision.reason


@pytest.mark.parametrize("evaluator", sorted(ENGINES))
def test_a_well_typed_request_is_decided_by_the_policies(evaluator: str) -> None:
    decision = ENGINES[evaluator].decide(request(GOOD))
    assert decision.allowed and decision.reason_code is None


_WRONG = {
    "clearance": st.one_of(st.text(), st.booleans(), st.lists(st.integers()), st.floats()),
    "employment": st.one_of(st.integers(), st.booleans(), st.lists(st.text())),
}


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(sorted(_WRONG)).flatmap(lambda k: st.tuples(st.just(k), _WRONG[k])))
def test_no_mistyped_property_is_ever_allowed(case: tuple[str, Any]) -> None:
    name, value = case
    for engine in ENGINES.values():
        decision = engine.decide(request({**GOOD, name: value}))
        assert not decision.allowed and decision.refusal, (name, value, decision.reason)


@pytest.mark.parametrize("evaluator", sorted(ENGINES))
def test_an_action_the_schema_does_not_declare_is_refused(tmp_path: Path, evaluator: str) -> None:
    # governance.yaml may list an action the schema lacks; Cedar given the schema refuses a
    # request for it, and so does the engine, rather than deciding it with no context check.
    import shutil

    tree = tmp_path / "policies"
    shutil.copytree(POLICIES, tree)
    config = tree / "governance.yaml"
    config.write_text(config.read_text().replace("  - delete\n", "  - delete\n  - archive\n"))
    engine = Engine.from_path(tree, evaluator=evaluator)
    decision = engine.decide({**request(GOOD), "action": {"name": "archive"}})
    assert not decision.allowed and decision.reason_code == "unknown_action"
    assert "`archive` is not declared by the schema" in (decision.refusal or "")
    assert engine.decide(request(GOOD)).reason_code is None  # declared actions are decided
