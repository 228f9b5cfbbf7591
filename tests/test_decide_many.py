"""`decide_many` answers exactly what `decide` answers request by request, sharing the reading
and binding of one principal across its products, never across principals or value types."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from governance import Decision
from tests.test_differential import example_requests
from tests.test_request_properties import ENGINES, JSON, mutated_requests

_VARYING = ("decision_id", "evaluated_at", "duration_us")


def _answer(decision: Decision, evaluator: str = "compiled") -> Any:
    """The decision less its identity and timing. cedarpy (the reference evaluator) reports
    satisfied policies in no fixed order, so there the answer is the order-free part."""
    if evaluator == "reference":
        return (
            decision.allowed, decision.access.kind, decision.reason_code,
            sorted(p.id for p in decision.access.policies),
            sorted((m.column, m.kind) for m in decision.masks),
        )  # fmt: skip
    return {k: v for k, v in decision.to_dict().items() if k not in _VARYING}


def _same_principal_batch(base: dict[str, Any], products: list[str]) -> list[dict[str, Any]]:
    """One subject and context asking about many products, as a batch endpoint builds it."""
    return [{**base, "resource": {"type": "DataProduct", "id": p}} for p in products]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(example_requests() | mutated_requests(JSON), min_size=1, max_size=6),
    st.sampled_from(sorted(ENGINES)),
    st.data(),
)
def test_a_batch_decides_as_each_request_alone(
    requests: list[Any], evaluator: str, data: st.DataObject
) -> None:
    engine = ENGINES[evaluator]
    products = sorted(engine.snapshot.products)
    batch = []
    for request in requests:
        if isinstance(request, dict) and data.draw(st.booleans()):
            chosen = data.draw(st.lists(st.sampled_from(products), min_size=1, max_size=4))
            batch += _same_principal_batch(request, chosen)
        else:
            batch.append(request)
    alone = [_answer(engine.decide(copy.deepcopy(r)), evaluator) for r in batch]
    assert [_answer(d, evaluator) for d in engine.decide_many(batch)] == alone


def test_equal_values_of_other_types_are_not_shared() -> None:
    """`True == 1` in Python: a schema-refused boolean clearance must not ride on an accepted
    integer one of the same principal."""
    engine = ENGINES["compiled"]
    subject = {"type": "User", "id": "u", "properties": {"groups": ["hr-partners"], "clearance": 1}}
    typed = {"subject": subject, "action": {"name": "read"}, "context": {"purpose": "audit"},
             "resource": {"type": "DataProduct", "id": "people.employees"}}  # fmt: skip
    flipped = copy.deepcopy(typed)
    flipped["subject"]["properties"]["clearance"] = True
    first, second = engine.decide_many([typed, flipped])
    assert not first.refusal
    assert second.reason_code == "bad_request" and not second.allowed
    assert _answer(second) == _answer(engine.decide(flipped))


def test_a_batch_shares_one_snapshot_and_logs_every_decision(tmp_path: Any) -> None:
    from governance import Engine
    from governance.logs import BackgroundLog, FileSink

    engine = ENGINES["compiled"]
    log = BackgroundLog(FileSink(tmp_path))
    logged = Engine(engine.snapshot, log=log)
    requests = _same_principal_batch(
        {"subject": {"type": "User", "id": "a", "properties": {"groups": ["sales-analysts"]}},
         "action": {"name": "read"}, "context": {"purpose": "analytics"}},
        sorted(engine.snapshot.products),
    )  # fmt: skip
    decisions = logged.decide_many(requests)
    log.close()
    assert log.stats().written == len(decisions) == len(requests)
