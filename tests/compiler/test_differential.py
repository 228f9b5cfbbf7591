"""Differential tests: the compiled evaluator gives cedarpy's decision, reasons and errors.

Every example is checked through the index and through the unindexed twin. The `slow` tests
draw bigger policy sets; `make differential` runs them under the `thorough` profile.
"""

from __future__ import annotations

from typing import Any

import cedarpy
import pytest
from hypothesis import given
from hypothesis import strategies as st

from governance.compiler import compile_policies
from tests.compiler.reference import REJECTED, cedar_answer, compiled_answer
from tests.compiler.strategies import (
    SCHEMA,
    entity_lists,
    policy_sets,
    requests,
    schema_entity_lists,
    schema_requests,
)


def assert_same_answers(policies: str, entities: list[Any], request: dict[str, Any]) -> None:
    compiled = compile_policies(policies)
    expected = cedar_answer(request, policies, entities)
    indexed = compiled_answer(compiled, request, entities)
    unindexed = compiled_answer(compiled, request, entities, indexed=False)
    assert indexed == expected, policies
    assert unindexed == expected, policies


@given(
    policy_sets(),
    entity_lists(unknowns=True),
    st.lists(requests(unknowns=True), min_size=1, max_size=3),
)
def test_schemaless_policies_match_cedarpy(
    policies: str, entities: list[Any], reqs: list[dict[str, Any]]
) -> None:
    cedarpy.policies_to_json_str(policies)  # generated text must be Cedar
    for request in reqs:
        assert_same_answers(policies, entities, request)


@pytest.mark.slow
@given(policy_sets(max_policies=6, depth=4), entity_lists(unknowns=True), requests(unknowns=True))
def test_schemaless_policies_match_cedarpy_thoroughly(
    policies: str, entities: list[Any], request: dict[str, Any]
) -> None:
    assert_same_answers(policies, entities, request)


def assert_same_answers_with_schema(
    policies: str, entities: list[Any], request: dict[str, Any]
) -> None:
    compiled = compile_policies(policies, schema=SCHEMA)
    expected = cedar_answer(request, policies, entities, SCHEMA)
    assert expected != REJECTED, "schema-mode inputs are generated to conform"
    assert compiled_answer(compiled, request, entities, SCHEMA) == expected, policies
    assert compiled_answer(compiled, request, entities, SCHEMA, indexed=False) == expected


@given(policy_sets(), schema_entity_lists(), st.lists(schema_requests(), min_size=1, max_size=3))
def test_schema_directed_policies_match_cedarpy(
    policies: str, entities: list[Any], reqs: list[dict[str, Any]]
) -> None:
    for request in reqs:
        assert_same_answers_with_schema(policies, entities, request)


@pytest.mark.slow
@given(policy_sets(max_policies=6, depth=4), schema_entity_lists(), schema_requests())
def test_schema_directed_policies_match_cedarpy_thoroughly(
    policies: str, entities: list[Any], request: dict[str, Any]
) -> None:
    assert_same_answers_with_schema(policies, entities, request)
