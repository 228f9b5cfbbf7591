"""The writer's byte encoder writes exactly the record the dict builder describes, and never fails a batch."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from governance import Engine
from governance.audit import verify_logs
from governance.audit.simulate import synthetic_requests
from governance.logs import BackgroundLog, FileSink, RecordBuilder
from governance.logs.encode import RecordEncoder
from tests.audit.conftest import POLICIES

LABELS = {"service": "test", "instance": "a\nb", "version": "1"}


@functools.cache
def _shared_engine() -> Engine:
    return Engine.from_path(POLICIES)


@pytest.fixture
def engine() -> Engine:
    return _shared_engine()


def _pair(
    engine: Engine, request: Any, req_id: int | None, by: str
) -> tuple[bytes, dict[str, Any]]:
    decision = engine.decide(request)
    built = RecordBuilder(LABELS).build(decision, req_id, by)
    encoded = RecordEncoder(LABELS).encode(decision, req_id, by) + b',"prev_hash":null}'
    return encoded, {**built, "prev_hash": None}


def test_encoded_records_are_byte_identical_to_built_ones(engine: Engine) -> None:
    requests = list(synthetic_requests(engine.snapshot, 1500, seed=11))
    kinds = set()
    for number, request in enumerate(requests):
        encoded, built = _pair(engine, request, number if number % 2 else None, f"q{number}")
        assert encoded == orjson.dumps(built)
        result = built["result"]
        kinds.add((result["kind"], bool(result["masks"]), "reason_code" in result))
    assert ("permitted", True, False) in kinds and ("not_permitted", False, True) in kinds


@settings(max_examples=60, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
        max_leaves=8,
    )
)
def test_odd_requests_are_encoded_like_the_builder_or_as_valid_json(value: Any) -> None:
    engine = _shared_engine()
    request = {"subject": {"type": "User", "id": "x"}, "action": {"name": "read"},
               "resource": {"type": "DataProduct", "id": "sales.customers"},
               "context": {"purpose": value, "odd": {1, 2}}}  # fmt: skip
    encoded, built = _pair(engine, request, None, "")
    orjson.loads(encoded)  # valid JSON, whatever the request held
    try:
        expected = orjson.dumps(built)
    except (TypeError, orjson.JSONEncodeError):
        return  # the dict path cannot write this record at all
    assert encoded == expected


def test_a_log_written_from_bytes_verifies_and_reads_the_same(
    engine: Engine, tmp_path: Path
) -> None:
    class DictsOnly:  # a sink without write_encoded: the dict path
        def __init__(self) -> None:
            self.inner = FileSink(tmp_path / "dicts")

        def write(self, records: list[dict[str, Any]]) -> None:
            self.inner.write(records)

        def close(self) -> None:
            self.inner.close()

    requests = list(synthetic_requests(engine.snapshot, 400, seed=3))
    decisions = [engine.decide(r) for r in requests]
    for sink in (FileSink(tmp_path / "bytes", max_bytes=64 * 1024), DictsOnly()):
        log = BackgroundLog(sink, labels=LABELS)  # type: ignore[arg-type]
        for number, decision in enumerate(decisions):
            log.log(decision, number, "gw")
        log.close()
        assert log.stats().written == 400 and log.stats().lost == 0
    assert verify_logs([tmp_path / "bytes"]).records == 400
    assert len(list((tmp_path / "bytes").iterdir())) > 1  # rotation on the byte path too

    def records(folder: Path) -> list[Any]:
        found = []
        for path in sorted(folder.iterdir()):
            for line in path.read_bytes().splitlines():
                record = orjson.loads(line)
                if "decision_id" in record:
                    del record["prev_hash"]
                    found.append(record)
        return found

    assert records(tmp_path / "bytes") == records(tmp_path / "dicts")


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
def test_a_restarted_sink_links_to_the_last_line_of_a_large_file(
    engine: Engine, tmp_path: Path, compress: bool
) -> None:
    decisions = [engine.decide(r) for r in synthetic_requests(engine.snapshot, 300, seed=5)]
    for _run in range(2):  # 300 records of ~1 KiB: the tail is found past the first 64 KiB window
        log = BackgroundLog(FileSink(tmp_path, compress=compress))
        for decision in decisions:
            log.log(decision)
        log.close()
    files = sorted(tmp_path.iterdir())
    assert len(files) == 2
    assert compress or files[0].stat().st_size > 64 * 1024
    result = verify_logs([tmp_path])
    assert result.ok, result.breaks
    assert result.records == 600
