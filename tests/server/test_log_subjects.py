"""Subjects drawn from decision logs: real logs written by the engine, hostile lines, privacy
pointers, deduplication and the limit; and a real server offering them to subject search only."""

from __future__ import annotations

import gzip

import httpx
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from governance.engine import Engine
from governance.logs import BackgroundLog, FileSink, Masker
from governance.server.log_subjects import SubjectLogError, log_files, subjects_from_logs
from tests.server.conftest import ROOT, start, stop

ABSENCES = {"type": "DataProduct", "id": "people.absences"}
HR = {"purpose": "hr_administration"}


def user(name, groups=("hr-partners",), clearance=3, employment="employee", **extra):
    return {
        "type": "User",
        "id": name,
        "properties": {
            "groups": list(groups),
            "clearance": clearance,
            "employment": employment,
            **extra,
        },
    }


def request(subject, resource=ABSENCES, context=HR):
    return {
        "subject": subject,
        "action": {"name": "read"},
        "resource": resource,
        "context": context,
    }


def write_log(folder, requests, masker=None):
    """The engine's own decision log: hash-chained JSON lines, as `govern serve --log` writes."""
    log = BackgroundLog(FileSink(folder), masker=masker)
    engine = Engine.from_path(ROOT / "policies", log=log)
    for body in requests:
        engine.decide(body)
    log.close()
    return folder


@pytest.fixture(scope="module")
def engine():
    return Engine.from_path(ROOT / "policies")


def test_subjects_are_deduplicated_and_the_most_recent_properties_kept(tmp_path):
    write_log(tmp_path / "a", [request(user("zoe", clearance=1)), request(user("yann"))])
    write_log(
        tmp_path / "b", [request(user("zoe", clearance=3)), request(user("zoe", clearance=3))]
    )
    found = subjects_from_logs([tmp_path])
    assert sorted(found.principals) == ["User::yann", "User::zoe"]
    assert found.principals["User::zoe"]["properties"]["clearance"] == 3  # the later record
    assert found.records == 4
    assert found.skips.count == 0


def test_refusals_and_unusable_lines_are_skipped_and_counted(tmp_path):
    write_log(
        tmp_path / "log",
        [
            request(user("zoe")),
            request({"type": "User", "id": "mallory", "properties": {"clearance": "9"}}),  # refused
            {"subject": "not an entity"},  # refused: input is whatever was sent
        ],
    )
    hostile = tmp_path / "log" / "hostile.jsonl"
    lines = [
        b"not json",
        b"[1, 2]",
        orjson.dumps({"input": {"subject": {"type": "User", "id": 7}}, "result": {}}),
        orjson.dumps(
            {"input": {"subject": {"type": "User", "id": "x", "properties": []}}, "result": {}}
        ),
        orjson.dumps({"input": [], "result": {}}),
        orjson.dumps({"input": {}, "result": {}}),
    ]
    hostile.write_bytes(b"\n".join(lines) + b"\n" + b'{"truncated":')
    found = subjects_from_logs([tmp_path / "log"])
    assert list(found.principals) == ["User::zoe"]
    assert found.skips.count == len(lines) + 1
    assert any("truncated last line" in e for e in found.skips.examples)
    assert any("string `type` and `id`" in e for e in found.skips.examples)


def test_erased_or_pseudonymised_subjects_are_not_used(tmp_path):
    write_log(
        tmp_path / "pseudonymous",
        [request(user("zoe"))],
        Masker(pseudonymise=["/input/subject/id"], key=b"k" * 32),
    )
    write_log(
        tmp_path / "erased",
        [request(user("yann"))],
        Masker(erase=["/input/subject/properties/clearance"]),
    )
    write_log(tmp_path / "whole", [request(user("xavi"))], Masker(erase=["/input/subject"]))
    write_log(tmp_path / "context", [request(user("will"))], Masker(erase=["/input/context"]))
    found = subjects_from_logs([tmp_path])
    assert list(found.principals) == ["User::will"]  # erasing the context leaves the subject
    assert found.skips.count == 3


def test_gzip_files_and_worker_folders_are_read(tmp_path):
    folder = write_log(tmp_path / "served" / "worker-1", [request(user("zoe"))])
    for path in folder.glob("*.jsonl"):
        (folder / f"{path.name}.gz").write_bytes(gzip.compress(path.read_bytes()))
        path.unlink()
    write_log(tmp_path / "served" / "worker-2", [request(user("yann"))])
    assert sorted(subjects_from_logs([tmp_path / "served"]).principals) == [
        "User::yann",
        "User::zoe",
    ]


def test_missing_paths_and_folders_without_logs_are_refused(tmp_path):
    with pytest.raises(SubjectLogError, match="no such file"):
        log_files([tmp_path / "missing"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(SubjectLogError, match="no decision log files"):
        log_files([tmp_path / "empty"])


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    names=st.lists(st.sampled_from("abcdefghij"), min_size=1, max_size=40),
    limit=st.integers(min_value=1, max_value=12),
)
def test_the_limit_keeps_the_most_recently_seen(tmp_path_factory, names, limit):
    folder = tmp_path_factory.mktemp("log")
    records = [
        {"decision_id": str(i), "timestamp": f"2026-12-03T10:00:{i:02d}.000000Z",
         "input": request(user(n)), "result": {"allowed": True}}
        for i, n in enumerate(names)
    ]  # fmt: skip
    (folder / "log.jsonl").write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
    found = subjects_from_logs([folder], limit=limit)
    last_seen = {n: i for i, n in enumerate(names)}
    newest = sorted(last_seen, key=last_seen.__getitem__, reverse=True)[:limit]
    assert sorted(found.principals) == sorted(f"User::{n}" for n in newest)
    assert found.limited == (len(last_seen) > limit)


def test_the_server_searches_logged_subjects_but_never_lends_them_to_trino(tmp_path):
    logs = write_log(
        tmp_path / "logs",
        [
            request(user("zoe", groups=("sales-analysts", "hr-partners"), region="eu")),
            request(user("dave", groups=(), clearance=0)),  # the fixtures' dave wins
            # a contractor, like the fixtures' gina, whom Trino would deny if this were lent
            request(user("yara", groups=("sales-analysts",), clearance=1, employment="contractor")),
        ],
    )
    process, url = start("--subjects-from", str(logs))
    try:
        with httpx.Client(base_url=url, timeout=10) as client:
            search = {"subject": {"type": "User"}, "action": {"name": "read"},
                      "resource": ABSENCES, "context": HR}  # fmt: skip
            results = client.post("/access/v1/search/subject", json=search).json()["results"]
            by_id = {r["id"]: r for r in results}
            assert "zoe" in by_id and "dave" in by_id and "erin" in by_id  # logs and fixtures
            assert by_id["dave"]["properties"]["clearance"] == 3
            again = client.post("/access/v1/evaluation", json={**search, "subject": by_id["zoe"]})
            assert again.json()["decision"] is True
            ready = client.get("/ready").json()["logged_subjects"]
            assert ready["subjects"] == 3 and ready["skipped"] == 0

            # Trino's users get the fixtures' attributes (gina, a contractor, is denied); a
            # logged subject's properties are some caller's claims and are never lent: yara
            # is decided with Trino's groups alone, like any user govern does not know
            def trino(name):
                body = {"input": {
                    "context": {"identity": {"user": name, "groups": ["sales-analysts"]},
                                "properties": {"purpose": "analytics"}},
                    "action": {"operation": "SelectFromColumns", "resource": {"table": {
                        "catalogName": "lakehouse", "schemaName": "sales",
                        "tableName": "customers", "columns": ["customer_id"]}}},
                }}  # fmt: skip
                return client.post("/v1/data/govern/trino/allow", json=body).json()["result"]

            assert trino("gina") is False
            assert trino("yara") is trino("somebody-unknown") is True
    finally:
        stop(process)


def test_serve_refuses_a_subjects_path_without_logs(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(RuntimeError, match="no decision log files"):
        start("--subjects-from", str(tmp_path / "empty"))
