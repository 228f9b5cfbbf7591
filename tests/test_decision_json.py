"""Decision JSON: `to_json` encodes exactly `to_dict`, and a decision classifies only the columns
it read, so a wide product gives a request-sized line."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from governance import Decision, Engine
from tests.test_request_properties import ENGINES, JSON, mutated_requests
from tests.treebuilder import TreeBuilder, column, request

WIDE_COLUMNS = 1000


def wide_tree(root: Path, columns: int = WIDE_COLUMNS) -> TreeBuilder:
    """One product of `columns` columns, every tenth restricted and masked below clearance 3."""
    tree = TreeBuilder(root)
    tree.cedar("global", '@id("all")\npermit (principal, action, resource);\n')
    tree.cedar("global", """\
        @id("restricted-columns")
        forbid (principal, action, resource is Column)
        when { resource.sensitivity >= 3 && principal.clearance < 3 };
        """, "guardrails.cedar")  # fmt: skip
    tree.product("sales.wide", [
        column(f"c{i:04d}", "restricted" if i % 10 == 0 else "internal") for i in range(columns)
    ])  # fmt: skip
    return tree


def loads(encoded: bytes) -> Any:
    """orjson reads what it wrote; the standard library what only it can write or read back
    exactly (a lone surrogate, an integer past 64 bits, which orjson reads as a float)."""
    try:
        return orjson.loads(encoded)
    except orjson.JSONDecodeError:
        return json.loads(encoded)


def orjson_exact(value: Any) -> bool:
    """Whether orjson reads `value` back unchanged: no integer past 64 bits anywhere in it."""
    if isinstance(value, dict):
        return all(orjson_exact(v) for v in value.values())
    if isinstance(value, list):
        return all(orjson_exact(v) for v in value)
    return not isinstance(value, int) or -(2**63) <= value < 2**64


def assert_same(decision: Decision) -> None:
    encoded, expected = decision.to_json(), decision.to_dict()
    assert json.loads(encoded) == expected
    if orjson_exact(expected):
        assert loads(encoded) == expected


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_requests(JSON), st.sampled_from(sorted(ENGINES)))
def test_to_json_is_to_dict_for_any_request(body: Any, evaluator: str) -> None:
    assert_same(ENGINES[evaluator].decide(body))


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_to_json_is_to_dict_for_any_columns(data: st.DataObject) -> None:
    engine = ENGINES["compiled"]
    product = data.draw(st.sampled_from(sorted(engine.snapshot.products)))
    keys = sorted(engine.snapshot.products[product].column_keys)
    columns = data.draw(st.none() | st.lists(st.sampled_from(keys), max_size=6))
    clearance = data.draw(st.integers(0, 3))
    purpose = data.draw(st.sampled_from(["analytics", "audit", "nothing"]))
    body = request("alice", data.draw(st.sampled_from(["read", "export"])), product,
                   groups=data.draw(st.lists(st.sampled_from(
                       ["sales-analysts", "data-stewards", "hr-partners", "finance-controllers"]
                   ), max_size=2)), columns=columns, context={"purpose": purpose},
                   clearance=clearance, department=product.split(".")[0])  # fmt: skip
    decision = engine.decide(body)
    assert_same(decision)
    shown = decision.to_dict()["classification"]["columns"]
    assert set(shown) == (set(keys) if columns is None else set(columns))


def test_text_orjson_refuses_still_encodes_as_to_dict() -> None:
    engine = ENGINES["compiled"]
    for body in (
        request("\ud800", product="sales.\udfff"),  # lone surrogates: an unknown product
        {"subject": {"type": "User", "id": 2**70}},  # an integer past 64 bits, refused
        request(columns=["nope\ud800"]),
    ):
        decision = engine.decide(body)
        assert decision.refusal
        assert json.loads(decision.to_json()) == decision.to_dict()


def test_a_wide_product_gives_a_request_sized_line(tmp_path: Path) -> None:
    engine = wide_tree(tmp_path).engine()
    decision = engine.decide(
        request(product="sales.wide", columns=["c0001", "c0010", "c0010"], clearance=1)
    )
    assert [m.column for m in decision.masks] == ["c0010"]
    assert_same(decision)
    shown = decision.to_dict()["classification"]
    assert shown["level"] == "restricted"
    assert shown["columns"] == {
        "c0001": {"level": "internal", "labels": [], "sources": [shown["columns"]["c0001"]["sources"][0]]},
        "c0010": {"level": "restricted", "labels": [], "sources": [shown["columns"]["c0010"]["sources"][0]]},
    }  # fmt: skip
    assert len(decision.to_json()) < 4096
    every = decision.to_dict(all_columns=True)["classification"]["columns"]
    assert len(every) == WIDE_COLUMNS and every["c0010"] == shown["columns"]["c0010"]
    whole = engine.decide(
        request(product="sales.wide", clearance=1)
    )  # a whole-product request reads every column
    assert len(whole.to_dict()["classification"]["columns"]) == WIDE_COLUMNS
    assert len(whole.masks) == WIDE_COLUMNS // 10
    assert_same(whole)


def test_a_decision_built_by_hand_encodes_without_snapshot_fragments() -> None:
    body = request(
        columns=["customer_email", "payment_card_number"], groups=["sales-analysts"],
        context={"purpose": "analytics"}, clearance=1, department="sales",
    )  # fmt: skip
    decision = ENGINES["reference"].decide(body)
    assert decision.allowed and decision.masks
    bare = dataclasses.replace(decision, encoded=None)
    assert loads(bare.to_json()) == decision.to_dict() == loads(decision.to_json())


def test_engines_share_fragments_per_product_within_a_snapshot() -> None:
    engine: Engine = ENGINES["compiled"]
    first = engine.decide(request(columns=["customer_email", "payment_card_number"]))
    second = engine.decide(request("bob", columns=["order_id"]))
    assert first.encoded is second.encoded is engine.snapshot.products["sales.orders"].encoded


@given(st.integers(0, 10**15))
def test_the_formatted_duration_reads_back_as_the_rounded_one(ns: int) -> None:
    assert float(f"{ns / 1000:.2f}") == round(ns / 1000, 2)
