"""`decide_many` answers exactly what `decide` answers request by request, sharing the reading
and binding of one principal across its products, never across principals or value types."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from governance import Decision
from governance.access.request import from_authzen
from governance.errors import RequestError
from tests.test_differential import example_requests
from tests.test_request_properties import ALLOWED, ENGINES, JSON, mutated_requests

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


_SNAPSHOT = ENGINES["compiled"].snapshot
_PRODUCTS = sorted(_SNAPSHOT.products)


@st.composite
def _resources(draw: st.DrawFn) -> Any:
    """A resource: a product, whole or with some of its columns (or a wrong one), or one of
    the ways a resource is refused."""
    product = draw(st.sampled_from(_PRODUCTS))
    columns = sorted(_SNAPSHOT.products[product].column_keys)
    way = draw(st.integers(0, 9))
    if way < 3:
        return {"type": "DataProduct", "id": product}
    if way < 7:
        named = draw(st.lists(st.sampled_from([*columns, "nope"]), max_size=4))
        return {"type": "DataProduct", "id": product, "properties": {"columns": named}}
    return draw(st.sampled_from([
        {"type": "DataProduct", "id": product, "properties": {"columns": "*"}},
        {"type": "DataProduct", "id": product, "properties": {"columns": [1]}},
        {"type": "DataProduct", "id": product, "properties": {"columns": "email"}},
        {"type": "DataProduct", "id": product, "properties": {"rows": 1}},
        {"type": "DataProduct", "id": product, "properties": None},
        {"type": "DataProduct", "id": "no.such"}, {"type": "Column", "id": product},
        {"id": product}, {"type": "DataProduct", "id": ""}, None, [],
    ]))  # fmt: skip


def _retyped(request: dict[str, Any]) -> dict[str, Any]:
    """A copy equal in Python (`1 == True`, `0 == False`) yet another value in Cedar."""
    changed = copy.deepcopy(request)
    subject = changed.get("subject")
    properties = subject.get("properties") if isinstance(subject, dict) else None
    for record in (properties, changed.get("context")):
        if isinstance(record, dict):
            for key, value in record.items():
                if type(value) is int and value in (0, 1):
                    record[key] = bool(value)
                elif type(value) is bool:
                    record[key] = int(value)
    return changed


@st.composite
def mixed_batches(draw: st.DrawFn) -> list[Any]:
    """Batches whose principals repeat in every way a batch can see them: the very same
    subject and context objects (as a batch's defaults give them), equal copies (as items
    parsed apart), the same subject with another action or context, copies differing only
    in value types, typed requests,
    and refusals anywhere (bad resources, unreadable requests), in any order."""
    bases = draw(st.lists(example_requests() | mutated_requests(JSON), min_size=1, max_size=3))
    batch: list[Any] = []
    for _ in range(draw(st.integers(1, 20))):
        base = draw(st.sampled_from(bases))
        if not isinstance(base, dict):
            batch.append(base)
            continue
        resource = draw(_resources())
        ways = ["same", "same", "copy", "action", "context", "retyped", "typed"]
        way = draw(st.sampled_from(ways))
        if way == "same":
            batch.append({**base, "resource": resource})
        elif way == "copy":
            batch.append({**copy.deepcopy(base), "resource": resource})
        elif way == "action":
            action = {"name": draw(st.sampled_from(["read", "write", "delete", "fly"]))}
            batch.append({**base, "action": action, "resource": resource})
        elif way == "context":  # the same subject object in another context
            other = draw(st.sampled_from(bases))
            context = other.get("context") if isinstance(other, dict) else {"purpose": "audit"}
            batch.append({**base, "context": context, "resource": resource})
        elif way == "retyped":
            batch.append({**_retyped(base), "resource": resource})
        else:
            try:
                batch.append(from_authzen({**copy.deepcopy(base), "resource": resource}))
            except (RequestError, TypeError, AttributeError):  # not readable: the dict itself
                batch.append({**base, "resource": resource})
    return batch


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mixed_batches(), st.sampled_from(sorted(ENGINES)))
def test_a_mixed_batch_decides_as_a_loop(batch: list[Any], evaluator: str) -> None:
    """Whatever a batch shares (objects, equal values, bindings), each decision is the one
    `decide` gives the request alone."""
    engine = ENGINES[evaluator]
    alone = [_answer(engine.decide(copy.deepcopy(r)), evaluator) for r in batch]
    assert [_answer(d, evaluator) for d in engine.decide_many(batch)] == alone
    # An iterator (code may run between its requests: only values are shared) answers alike.
    assert [_answer(d, evaluator) for d in engine.decide_many(iter(batch))] == alone


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mixed_batches(), st.sampled_from(["allowed", "denied", "refused"]))
def test_until_stops_a_batch_where_a_loop_stops(batch: list[Any], stop_on: str) -> None:
    engine = ENGINES["compiled"]

    def until(decision: Decision) -> bool:
        if stop_on == "refused":
            return bool(decision.refusal)
        return decision.allowed == (stop_on == "allowed")

    alone = []
    for request in batch:
        alone.append(_answer(engine.decide(copy.deepcopy(request))))
        if until(engine.decide(copy.deepcopy(request))):
            break
    assert [_answer(d) for d in engine.decide_many(batch, until=until)] == alone


def _other_principal(subject: dict[str, Any], way: int) -> None:
    """`subject`, in place, made another principal or the same one with other attributes."""
    if way == 0:
        subject.clear()
        subject.update({"type": "User", "id": "mallory", "properties": {}})
    elif way == 1:
        subject["id"] = "mallory"
    elif way == 2 and isinstance(subject.get("properties"), dict):
        subject["properties"].clear()
    else:
        subject["type"] = "Robot"


def _shared_objects_batch(size: int) -> tuple[list[dict[str, Any]], dict[str, Any], dict[str, Any]]:
    """An allowed request's subject and context, one object each, named by `size` requests."""
    allowed = ALLOWED[0]
    subject, context = copy.deepcopy(allowed["subject"]), dict(allowed["context"])
    batch = [
        {"subject": subject, "action": {"name": "read"}, "context": context,
         "resource": allowed["resource"]}
        for _ in range(size)
    ]  # fmt: skip
    return batch, subject, context


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 6), st.integers(0, 3), st.booleans())
def test_objects_changed_between_requests_of_an_iterator_are_read_again(
    changed_after: int, way: int, context_too: bool
) -> None:
    """A lazy iterable runs code between two requests: the subject (or context) object the
    earlier ones named may be another principal by the next, which is decided as itself."""
    engine = ENGINES["compiled"]

    def requests() -> Any:
        batch, subject, context = _shared_objects_batch(8)
        for position, request in enumerate(batch):
            if position == changed_after:
                _other_principal(subject, way)
                if context_too:
                    context["purpose"] = "nothing"
            yield request

    alone = [_answer(engine.decide(r)) for r in requests()]
    assert [_answer(d) for d in engine.decide_many(requests())] == alone
    assert way != 0 or not alone[-1]["allowed"]  # a stranger: the change matters


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 6), st.integers(0, 3))
def test_objects_changed_by_until_are_read_again(changed_at: int, way: int) -> None:
    """`until` runs between two requests too: what it changes is read, never the answer of
    the objects as they were."""
    engine = ENGINES["compiled"]

    def run(decide_many: Any) -> list[Any]:
        batch, subject, _ = _shared_objects_batch(8)
        seen = [0]

        def until(decision: Decision) -> bool:
            seen[0] += 1
            if seen[0] == changed_at:
                _other_principal(subject, way)
            return False

        return [_answer(d) for d in decide_many(batch, until)]

    def loop(batch: list[Any], until: Any) -> list[Decision]:
        decisions = []
        for request in batch:
            decisions.append(engine.decide(request))
            until(decisions[-1])
        return decisions

    assert run(lambda b, u: engine.decide_many(b, until=u)) == run(loop)


class _ReadsOtherwise(dict[str, Any]):
    """A dict whose reading methods show other values than it holds."""

    def items(self) -> Any:
        return [(k, "other") for k in dict.keys(self)]

    def values(self) -> Any:
        return ["other" for _ in dict.keys(self)]

    def __getitem__(self, key: str) -> Any:
        dict.__getitem__(self, key)
        return "other"

    def get(self, key: str, default: Any = None) -> Any:
        return "other" if key in self else default


@given(st.booleans(), st.booleans())
def test_records_that_read_otherwise_than_they_hold_are_not_shared(
    attributes: bool, context: bool
) -> None:
    """Two typed requests holding equal values (as JSON encodes them) but reading otherwise
    are not one request: each is decided as it reads."""
    engine = ENGINES["compiled"]
    plain = from_authzen(copy.deepcopy(ALLOWED[0]))
    plain = plain._replace(attributes=dict(plain.attributes), context=dict(plain.context))
    odd = plain._replace(
        attributes=_ReadsOtherwise(plain.attributes) if attributes else plain.attributes,
        context=_ReadsOtherwise(plain.context) if context else plain.context,
    )
    batch = [plain, plain, odd, plain, odd]
    alone = [_answer(engine.decide(r)) for r in batch]
    assert [_answer(d) for d in engine.decide_many(batch)] == alone
