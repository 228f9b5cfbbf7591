"""Decision logs written by the real engine: records, chain, tampering, privacy, sampling, drops."""

from __future__ import annotations

import gzip
import http.server
import io
import threading
from pathlib import Path
from typing import Any

import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from governance import Engine
from governance.audit import verify_logs
from governance.logs import (
    BackgroundLog,
    ConsoleSink,
    FileSink,
    HttpSink,
    Masker,
    Sampling,
    pseudonym,
)

POLICIES = Path(__file__).resolve().parents[2] / "policies"


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.from_path(POLICIES)


def _request(user: str, product: str = "sales.customers", action: str = "read") -> dict[str, Any]:
    return {
        "subject": {"type": "User", "id": user, "properties": {"groups": ["sales-analysts"]}},
        "action": {"name": action},
        "resource": {"type": "DataProduct", "id": product},
        "context": {"purpose": "analytics"},
    }


def _write(engine: Engine, directory: Path, count: int, **sink: Any) -> FileSink:
    file_sink = FileSink(directory, **sink)
    log = BackgroundLog(file_sink, labels={"app": "test"})
    logged = Engine(engine.snapshot, log=log)
    for i in range(count):
        logged.decide(
            _request(f"u{i}", action="read" if i % 3 else "export"), requested_by="10.0.0.1"
        )
    log.close()
    assert log.stats().written == count and log.stats().lost == 0
    return file_sink


def _records(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def test_records_carry_opa_fields_and_the_decision(engine: Engine, tmp_path: Path) -> None:
    sink = _write(engine, tmp_path, 5)
    lines = _records(sink.files[0])
    record = lines[1]
    decision = engine.decide(_request("u1"))
    assert record["input"]["subject"]["id"] == "u0"
    assert record["timestamp"].endswith("Z")
    assert record["labels"] == {"app": "test"} and record["requested_by"] == "10.0.0.1"
    assert record["result"]["domain"] == "sales"
    assert lines[2]["result"]["allowed"] == decision.allowed
    assert record["revisions"] == dict(decision.revisions)
    assert record["metrics"]["timer_govern_eval_ns"] > 0
    assert verify_logs([tmp_path]).ok


def test_refusal_has_reason_code(engine: Engine, tmp_path: Path) -> None:
    log = BackgroundLog(FileSink(tmp_path))
    Engine(engine.snapshot, log=log).decide(_request("x", product="nope.nothing"))
    log.close()
    record = _records(next(tmp_path.iterdir()))[1]
    assert record["result"]["allowed"] is False
    assert record["result"]["reason_code"] == "unknown_product"


def test_rotation_links_files_and_verify_passes(engine: Engine, tmp_path: Path) -> None:
    sink = _write(engine, tmp_path, 300, max_bytes=8192)
    assert len(sink.files) > 2
    result = verify_logs([tmp_path])
    assert result.ok and result.records == 300
    # a rotated file alone starts mid-way
    alone = verify_logs([sink.files[1]])
    assert not alone.ok and "mid-way" in alone.breaks[0].message
    assert verify_logs([sink.files[1]], partial=True).ok
    # a missing file in the middle breaks the link
    gap = verify_logs([sink.files[0], sink.files[2]])
    assert not gap.ok and gap.breaks[0].file == sink.files[2].name


def _tampered(path: Path, change: Any) -> None:
    lines = path.read_bytes().splitlines()
    path.write_bytes(b"\n".join(change(lines)) + b"\n")


@pytest.mark.parametrize(
    ("name", "change", "line"),
    [
        (
            "modify",
            lambda ls: [*ls[:3], ls[3].replace(b"10.0.0.1", b"10.6.6.6"), *ls[4:]],
            5,
        ),
        ("delete", lambda ls: ls[:3] + ls[4:], 4),
        ("insert", lambda ls: [*ls[:3], ls[2], *ls[3:]], 4),
        ("reorder", lambda ls: [*ls[:2], ls[3], ls[2], *ls[4:]], 3),
        ("truncate", lambda ls: ls[:-3], 8),
    ],
)
def test_every_tamper_kind_is_detected(
    engine: Engine, tmp_path: Path, name: str, change: Any, line: int
) -> None:
    sink = _write(engine, tmp_path, 9)
    _tampered(sink.files[0], change)
    result = verify_logs([tmp_path])
    assert not result.ok, name
    assert result.breaks[0].line == line, (name, str(result.breaks[0]))


def test_modified_then_rechained_file_fails_the_signature(engine: Engine, tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    sink = _write(engine, tmp_path, 4, signing_key=key)
    assert verify_logs([tmp_path], public_key=key.public_key()).ok
    assert not verify_logs([tmp_path], public_key=Ed25519PrivateKey.generate().public_key()).ok
    del sink


def test_gzip_files_verify(engine: Engine, tmp_path: Path) -> None:
    sink = _write(engine, tmp_path, 50, compress=True)
    assert sink.files[0].name.endswith(".jsonl.gz")
    assert gzip.decompress(sink.files[0].read_bytes()).count(b"\n") == 52
    assert verify_logs([tmp_path]).records == 50


def test_bad_files_fail_with_clear_messages(engine: Engine, tmp_path: Path) -> None:
    (tmp_path / "empty.jsonl").write_bytes(b"")
    (tmp_path / "junk.jsonl").write_bytes(b"not json\n")
    sink = _write(engine, tmp_path / "crash", 3)
    crashed = sink.files[0]
    crashed.write_bytes(crashed.read_bytes()[:-20])
    messages = {
        str(b)
        for b in verify_logs([tmp_path / "empty.jsonl", tmp_path / "junk.jsonl", crashed]).breaks
    }
    assert "empty.jsonl:1: empty file" in messages
    assert any(m.startswith("junk.jsonl:1: not a JSON line") for m in messages)
    assert any("truncated last line" in m for m in messages)


def test_pseudonyms_are_stable_per_key_and_differ_across_keys() -> None:
    assert pseudonym(b"k1", "alice") == pseudonym(b"k1", "alice")
    assert pseudonym(b"k1", "alice") != pseudonym(b"k2", "alice")
    assert pseudonym(b"k1", "alice") != pseudonym(b"k1", "bob")


def test_masking_erases_and_pseudonymises(engine: Engine, tmp_path: Path) -> None:
    masker = Masker(erase=["/input/context"], pseudonymise=["/input/subject/id"], key=b"secret")
    log = BackgroundLog(FileSink(tmp_path), masker=masker)
    Engine(engine.snapshot, log=log).decide(_request("alice"))
    log.close()
    record = _records(next(tmp_path.iterdir()))[1]
    assert "context" not in record["input"]
    assert record["input"]["subject"]["id"] == pseudonym(b"secret", "alice")
    assert record["erased"] == ["/input/context"] and record["masked"] == ["/input/subject/id"]


def test_failed_masking_drops_and_counts(engine: Engine, tmp_path: Path) -> None:
    masker = Masker(erase=["/input/subject/id/deeper"])  # descends into a string
    log = BackgroundLog(FileSink(tmp_path), masker=masker)
    Engine(engine.snapshot, log=log).decide(_request("alice"))
    log.close()
    assert log.stats().mask_failures == 1 and log.stats().written == 0
    assert (
        b"alice" not in next(tmp_path.iterdir()).read_bytes() if any(tmp_path.iterdir()) else True
    )


def test_sampling_keeps_only_denies(engine: Engine) -> None:
    stream = io.StringIO()
    log = BackgroundLog(ConsoleSink(stream), sampling=Sampling(only_denies=True))
    logged = Engine(engine.snapshot, log=log)
    decisions = [
        logged.decide(_request(f"u{i}", action="read" if i % 2 else "export")) for i in range(10)
    ]
    log.close()
    denies = sum(not d.allowed for d in decisions)
    lines = [orjson.loads(x) for x in stream.getvalue().splitlines()]
    assert len(lines) == denies and all(not r["result"]["allowed"] for r in lines)
    assert log.stats().sampled_out == 10 - denies


def test_full_queue_drops_are_counted(engine: Engine) -> None:
    release = threading.Event()

    class SlowSink:
        def write(self, records: list[dict[str, Any]]) -> None:
            release.wait()

        def close(self) -> None:
            return None

    log = BackgroundLog(
        SlowSink(), capacity=4, when_full="drop", batch_size=1, flush_interval=0.001
    )
    logged = Engine(engine.snapshot, log=log)
    for i in range(50):
        logged.decide(_request(f"u{i}"))
    release.set()
    log.close()
    stats = log.stats()
    assert stats.dropped_full > 0
    assert stats.written + stats.dropped_full == 50
    logged.decide(_request("late"))
    assert log.stats().dropped_closed == 1


class _Collector(http.server.BaseHTTPRequestHandler):
    bodies: list[bytes] = []
    failures = 0

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if type(self).failures > 0:
            type(self).failures -= 1
            self.send_response(503)
            self.end_headers()
            return
        assert self.headers["Content-Encoding"] == "gzip"
        type(self).bodies.append(body)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return None


def test_http_sink_speaks_opa_upload_protocol(engine: Engine) -> None:
    _Collector.bodies, _Collector.failures = [], 2
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        sink = HttpSink(
            f"http://127.0.0.1:{server.server_port}/logs", max_chunk_bytes=2048, backoff=0.001
        )
        log = BackgroundLog(sink)
        logged = Engine(engine.snapshot, log=log)
        for i in range(200):
            logged.decide(_request(f"u{i}"))
        log.close()
    finally:
        server.shutdown()
        server.server_close()
    assert log.stats().written == 200
    assert len(_Collector.bodies) > 1  # chunked
    assert all(len(b) <= 2048 for b in _Collector.bodies)
    events = [e for b in _Collector.bodies for e in orjson.loads(gzip.decompress(b))]
    assert sorted(int(e["input"]["subject"]["id"][1:]) for e in events) == list(range(200))


def test_http_sink_counts_undeliverable_records(engine: Engine) -> None:
    sink = HttpSink("http://127.0.0.1:9/logs", retries=1, backoff=0.001, timeout=1)
    log = BackgroundLog(sink)
    Engine(engine.snapshot, log=log).decide(_request("u"))
    log.close()
    assert log.stats().sink_failures == 1


def test_cli_verify_reports_first_break(engine: Engine, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from governance.cli import main

    sink = _write(engine, tmp_path, 6)
    ok = CliRunner().invoke(main, ["audit", "verify", str(tmp_path)])
    assert ok.exit_code == 0 and "6 records" in ok.output
    _tampered(sink.files[0], lambda ls: ls[:2] + ls[3:])
    broken = CliRunner().invoke(main, ["audit", "verify", str(tmp_path)])
    assert broken.exit_code == 1
    assert "first broken record: decisions-000001.jsonl:3" in broken.output


def test_query_counts_decisions_and_reports_skips(engine: Engine, tmp_path: Path) -> None:
    from governance.audit.table import query

    sink = _write(engine, tmp_path, 30)
    with sink.files[0].open("ab") as f:
        f.write(b'garbage\n{"truncated')
    columns, rows, skips = query(
        [tmp_path], "select allowed, count(*) from decisions group by 1 order by 1"
    )
    assert columns == ["allowed", "count_star()"]
    assert sum(r[1] for r in rows) == 30
    assert skips.count == 2 and "not a JSON line" in skips.examples[0]


@given(st.text(min_size=4), st.binary(min_size=1, max_size=32))
def test_pseudonymised_record_never_holds_the_value(principal: str, key: bytes) -> None:
    record = {"input": {"subject": {"id": principal}}, "result": {"allowed": True}}
    masked = Masker(pseudonymise=["/input/subject/id"], key=key).apply(record)
    assert masked["input"]["subject"]["id"] == pseudonym(key, principal)
    assert record["input"]["subject"]["id"] == principal  # the original is not changed
    assert masked["masked"] == ["/input/subject/id"]
