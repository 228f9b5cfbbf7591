"""The decision log's writer process and its queue: same records as the thread, every loss counted, a backlog the GC never walks."""

from __future__ import annotations

import functools
import gc
import gzip
import marshal
import os
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from governance import Engine
from governance.audit import verify_logs
from governance.audit.simulate import synthetic_requests
from governance.logs import BackgroundLog, FileSink, HttpSink, Masker, pseudonym
from governance.logs.background import available_cores
from governance.logs.encode import RecordEncoder, RecordFormatter, RecordPacker, process_boot
from governance.logs.writer_process import WriterDied
from tests.audit.conftest import POLICIES

BACKLOG = 100_000


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.from_path(POLICIES)


@pytest.fixture(scope="module")
def requests(engine: Engine) -> list[Any]:
    return list(synthetic_requests(engine.snapshot, 300, seed=7))


def _records(folder: Path) -> list[dict[str, Any]]:
    found = []
    for path in sorted(folder.iterdir()):
        data = path.read_bytes()
        for line in (gzip.decompress(data) if path.suffix == ".gz" else data).splitlines():
            record = orjson.loads(line)
            if "decision_id" in record:
                found.append(record)
    return found


def _wait_for_exit(pid: int) -> None:
    """Until the process is gone (reaped by its parent's handle, or a zombie)."""
    for _ in range(600):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        status = Path(f"/proc/{pid}/status")
        if status.exists() and "zombie" in status.read_text():
            return
        time.sleep(0.05)
    raise AssertionError(f"process {pid} did not exit")


def test_auto_picks_a_process_for_govern_sinks_and_a_thread_for_others(tmp_path: Path) -> None:
    class Collector:
        def write(self, records: list[dict[str, Any]]) -> None:
            return None

        def close(self) -> None:
            return None

    moved = BackgroundLog(FileSink(tmp_path))
    kept = BackgroundLog(Collector())
    try:
        if available_cores() > 1:
            assert moved.writer == "process" and moved.writer_pid is not None
        else:  # one core: a writer process would only compete with the deciding one
            assert moved.writer == "thread"
        assert kept.writer == "thread" and kept.writer_pid is None
    finally:
        moved.close()
        kept.close()
    with pytest.raises(ValueError, match="cannot move to a writer process"):
        BackgroundLog(Collector(), writer="process")
    with pytest.raises(ValueError, match="writer must be"):
        BackgroundLog(Collector(), writer="fork")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="cannot move"):  # a sleep function that cannot travel
        BackgroundLog(HttpSink("http://127.0.0.1:9/", sleep=lambda s: None), writer="process")


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
def test_process_and_thread_writers_write_the_same_signed_rotated_chain(
    engine: Engine, requests: list[Any], tmp_path: Path, compress: bool
) -> None:
    key = Ed25519PrivateKey.generate()
    decisions = [engine.decide(r) for r in requests]
    sinks = {}
    for writer in ("process", "thread"):
        sink = FileSink(tmp_path / writer, max_bytes=32 * 1024, compress=compress, signing_key=key)
        log = BackgroundLog(sink, labels={"app": "t"}, writer=writer, batch_size=64)
        assert log.writer == writer
        for number, decision in enumerate(decisions):
            log.log(decision, number, "10.0.0.1")
        log.close()
        assert log.stats().written == len(decisions) and log.stats().lost == 0
        result = verify_logs([tmp_path / writer], public_key=key.public_key())
        assert result.ok and result.records == len(decisions), result.breaks
        sinks[writer] = sink
    # The caller's sink object ends as if it had written the files itself.
    assert [p.name for p in sinks["process"].files] == [p.name for p in sinks["thread"].files]
    assert len(sinks["process"].files) > 1

    def bodies(folder: Path) -> list[dict[str, Any]]:
        return [{k: v for k, v in r.items() if k != "prev_hash"} for r in _records(folder)]

    assert bodies(tmp_path / "process") == bodies(tmp_path / "thread")


def test_a_restarted_process_writer_continues_the_chain(
    engine: Engine, requests: list[Any], tmp_path: Path
) -> None:
    for _run in range(2):
        log = BackgroundLog(FileSink(tmp_path), writer="process")
        for request in requests[:50]:
            log.log(engine.decide(request))
        log.close()
    assert len(list(tmp_path.iterdir())) == 2
    assert verify_logs([tmp_path]).records == 100


def test_masking_in_the_writer_process(engine: Engine, requests: list[Any], tmp_path: Path) -> None:
    masker = Masker(erase=["/input/context"], pseudonymise=["/input/subject/id"], key=b"k")
    log = BackgroundLog(FileSink(tmp_path / "ok"), masker=masker, writer="process")
    decision = engine.decide(requests[0])
    log.log(decision)
    log.close()
    (record,) = _records(tmp_path / "ok")
    principal = decision.request.principal  # type: ignore[union-attr]
    assert record["input"]["subject"]["id"] == pseudonym(b"k", principal)
    assert "context" not in record["input"] and record["erased"] == ["/input/context"]

    failing = BackgroundLog(
        FileSink(tmp_path / "bad"), masker=Masker(erase=["/input/subject/id/x"]), writer="process"
    )
    for request in requests[:5]:
        failing.log(engine.decide(request))
    failing.close()
    assert failing.stats().mask_failures == 5 and failing.stats().written == 0
    assert principal.encode() not in b"".join(p.read_bytes() for p in (tmp_path / "bad").iterdir())


def test_flush_returns_once_everything_is_written(
    engine: Engine, requests: list[Any], tmp_path: Path
) -> None:
    for writer in ("process", "thread"):
        log = BackgroundLog(FileSink(tmp_path / writer), writer=writer, flush_interval=60)
        for request in requests[:10]:  # far less than a batch, and no timer will send it
            log.log(engine.decide(request))
        log.flush()
        assert log.stats().written == 10, writer
        log.close()


def test_a_killed_writer_process_is_reported_and_every_later_record_counted(
    engine: Engine, requests: list[Any], tmp_path: Path
) -> None:
    log = BackgroundLog(FileSink(tmp_path), writer="process", capacity=64, when_full="block")
    for request in requests[:40]:
        log.log(engine.decide(request))
    log.flush()
    assert log.stats().written == 40
    pid = log.writer_pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    _wait_for_exit(pid)
    for request in requests:  # more than the queue holds: a blocking log must not hang
        log.log(engine.decide(request))
    log.flush()
    log.close()
    stats = log.stats()
    assert stats.written == 40 and stats.writer_lost == len(requests)
    assert stats.lost == len(requests)
    assert isinstance(log.last_sink_error, WriterDied)


def test_sigterm_makes_the_writer_seal_what_it_has(
    engine: Engine, requests: list[Any], tmp_path: Path
) -> None:
    log = BackgroundLog(FileSink(tmp_path), writer="process")
    for request in requests[:30]:
        log.log(engine.decide(request))
    log.flush()
    pid = log.writer_pid
    assert pid is not None
    os.kill(pid, signal.SIGTERM)
    _wait_for_exit(pid)
    log.log(engine.decide(requests[0]))
    log.close()
    assert log.stats().written == 30 and log.stats().writer_lost == 1
    result = verify_logs([tmp_path])  # the file was sealed: a complete chain with its trailer
    assert result.ok and result.records == 30, result.breaks


def test_a_vanished_caller_still_gets_its_records_sealed(tmp_path: Path) -> None:
    """The deciding process dies without closing its log: the writer sees the pipe end, writes
    what arrived and seals the file."""
    script = f"""
import os
from governance import Engine
from governance.audit.simulate import synthetic_requests
from governance.logs.background import available_cores
from governance.logs import BackgroundLog, FileSink
engine = Engine.from_path({str(POLICIES)!r})
log = BackgroundLog(FileSink({str(tmp_path)!r}), writer="process")
for request in synthetic_requests(engine.snapshot, 25, seed=1):
    log.log(engine.decide(request))
log.flush()
print(log.writer_pid, flush=True)
os._exit(0)
"""
    root = str(Path(__file__).resolve().parents[2])
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True,
        env={**os.environ, "PYTHONPATH": root},
    )  # fmt: skip
    _wait_for_exit(int(done.stdout.split()[-1]))
    result = verify_logs([tmp_path])
    assert result.ok and result.records == 25, result.breaks


class _Held:
    """A sink that holds the writer thread until released: the queue behind it fills."""

    def __init__(self) -> None:
        self.release = threading.Event()

    def write(self, records: list[dict[str, Any]]) -> None:
        self.release.wait()

    def write_encoded(self, bodies: list[bytes]) -> None:  # the batch in hand stays bytes
        self.release.wait()

    def close(self) -> None:
        return None


def _tracked_growth(fill: Any) -> int:
    gc.collect()
    before = len(gc.get_objects())
    kept = fill()
    gc.collect()
    grown = len(gc.get_objects()) - before
    del kept
    return grown


def test_a_full_queue_of_100000_decisions_adds_nothing_for_the_collector(
    engine: Engine, requests: list[Any]
) -> None:
    """What a full collection walks is the tracked objects: the queue's 100,000 entries must
    not be among them (issue 11: a queue of decisions made full collections take ~1 s)."""
    sink = _Held()
    log = BackgroundLog(sink, capacity=2 * BACKLOG, batch_size=1024, writer="thread")

    def fill_log() -> None:
        for i in range(BACKLOG):
            log.log(engine.decide(requests[i % len(requests)]), i, "10.0.0.1")

    def fill_decisions() -> deque[Any]:  # what the queue held before packing
        return deque(engine.decide(requests[i % len(requests)]) for i in range(BACKLOG))

    try:
        grown_log = _tracked_growth(fill_log)
        assert log.stats().enqueued == BACKLOG and log.stats().written == 0  # all still queued
        queued = gc.get_referents(log._pending)
        assert len(queued) >= BACKLOG - 1024  # one batch at most is with the held sink
        assert not any(gc.is_tracked(entry) for entry in queued)
        assert grown_log < BACKLOG // 10, grown_log  # the encoders' bounded caches, no more
        assert _tracked_growth(fill_decisions) > BACKLOG  # the measure can see a backlog
    finally:
        sink.release.set()
        log.close()
    assert log.stats().written == BACKLOG


@settings(max_examples=80, deadline=None)
@given(
    req_id=st.none()
    | st.integers()
    | st.text()
    | st.floats()
    | st.booleans()
    | st.lists(st.integers(), max_size=2),
    requested_by=st.text(),
)
def test_what_the_caller_packs_crosses_marshal_and_formats_as_one_step_does(
    req_id: Any, requested_by: str
) -> None:
    """Any req_id and client text: the packed tuple survives marshal (the writer process's
    wire) and formats to the bytes the one-step encoder writes, valid JSON once closed."""
    engine = _module_engine()
    decision = engine.decide(_ODD_REQUEST)
    packed = RecordPacker().pack(decision, req_id, requested_by)
    shipped = marshal.loads(marshal.dumps([packed]))[0]
    assert shipped == packed
    body = RecordFormatter({"app": "t"}, process_boot()).format(shipped)
    assert body == RecordEncoder({"app": "t"}).encode(decision, req_id, requested_by)
    record = orjson.loads(body + b"}")
    assert record["decision_id"] == decision.decision_id


_ODD_REQUEST = {
    "subject": {"type": "User", "id": "x\ud800", "properties": {"groups": ["g"]}},
    "action": {"name": "read"},
    "resource": {"type": "DataProduct", "id": "sales.customers"},
    "context": {"purpose": "analytics"},
}


@functools.cache
def _module_engine() -> Engine:
    return Engine.from_path(POLICIES)
