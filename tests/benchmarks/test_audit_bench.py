"""`govern audit` on a large log: verify, summary and replay, in records per second.

The log holds 100,000 records by default and GOVERN_AUDIT_BENCH_RECORDS of them when set
(`GOVERN_AUDIT_BENCH_RECORDS=1000000 make bench BENCH_ARGS=-ktest_audit`). It is built from
5,000 decisions of simulated gateway traffic written again and again through the real
FileSink (fresh decision ids, one hash chain, rotation at 64 MiB), which is much faster than
deciding every record and reads the same to the tools.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson
import pytest

from governance.audit import verify_logs
from governance.audit.lines import read_lines
from governance.audit.replay import Candidate, replay
from governance.audit.simulate import simulate
from governance.audit.summary import summarise
from governance.audit.verify import log_files
from governance.logs import FileSink
from tests.audit.conftest import POLICIES

RECORDS = int(os.environ.get("GOVERN_AUDIT_BENCH_RECORDS", "100000"))
_SEED = 5000


@pytest.fixture(scope="module")
def big_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    seed = tmp_path_factory.mktemp("seed-log")
    simulate(POLICIES, seed, _SEED)
    records = []
    for path in log_files([seed]):
        for line in read_lines(path):
            record = orjson.loads(line)
            if "decision_id" in record:
                del record["prev_hash"]
                records.append(record)
    target = tmp_path_factory.mktemp("big-log")
    sink = FileSink(target)
    written = 0
    while written < RECORDS:
        batch = []
        for record in records[: RECORDS - written]:
            copy = dict(record)
            copy["decision_id"] = f"bench-{written + len(batch):012d}"
            batch.append(copy)
        sink.write(batch)
        written += len(batch)
    sink.close()
    return target


def _rate(benchmark: Any, records: int) -> None:
    benchmark.extra_info["records"] = records
    benchmark.extra_info["records_per_s"] = round(records / benchmark.stats.stats.min)


def test_audit_verify(benchmark: Any, big_log: Path) -> None:
    benchmark.group = "audit:large-log"
    result = benchmark.pedantic(verify_logs, args=([big_log],), rounds=1, iterations=1)
    assert result.ok and result.records == RECORDS
    _rate(benchmark, RECORDS)


def test_audit_summary(benchmark: Any, big_log: Path) -> None:
    benchmark.group = "audit:large-log"
    result = benchmark.pedantic(summarise, args=([big_log],), rounds=1, iterations=1)
    assert result.records == RECORDS and result.skips.count == 0
    _rate(benchmark, RECORDS)


def test_audit_replay(benchmark: Any, big_log: Path) -> None:
    """Every core (two here) against the logged policies: every record re-decided, no flip."""
    benchmark.group = "audit:large-log"
    result = benchmark.pedantic(
        replay, args=([big_log], Candidate(POLICIES)), kwargs={"jobs": os.cpu_count()},
        rounds=1, iterations=1,
    )  # fmt: skip
    assert result.replayed == RECORDS and not result.flips
    _rate(benchmark, RECORDS)
