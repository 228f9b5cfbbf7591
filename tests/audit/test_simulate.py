"""`govern audit simulate`: synthetic gateway traffic, decided by the real engine, into a verified log."""

from __future__ import annotations

from pathlib import Path

import orjson
from click.testing import CliRunner

from governance.audit import verify_logs
from governance.audit.lines import read_lines
from governance.audit.verify import log_files
from governance.cli import main
from tests.audit.conftest import POLICIES


def _inputs(directory: Path) -> list[bytes]:
    found = []
    for path in log_files([directory]):
        for line in read_lines(path):
            record = orjson.loads(line)
            if "decision_id" in record:
                found.append(orjson.dumps([record["input"], record["timestamp"]]))
    return found


def test_simulate_writes_a_verified_seeded_log(tmp_path: Path) -> None:
    runner = CliRunner()
    for name in ("a", "b"):
        done = runner.invoke(main, ["audit", "simulate", str(POLICIES), "--out",
                                    str(tmp_path / name), "--count", "200", "--gzip"])  # fmt: skip
        assert done.exit_code == 0, done.output
        assert "logged 200 of 200 decisions" in done.output and "0 lost" in done.output
    assert verify_logs([tmp_path / "a"]).records == 200
    assert log_files([tmp_path / "a"])[0].name.endswith(".jsonl.gz")
    assert _inputs(tmp_path / "a") == _inputs(tmp_path / "b")  # same seed, same traffic
    refused = runner.invoke(
        main, ["audit", "simulate", str(tmp_path), "--out", str(tmp_path / "c")]
    )
    assert refused.exit_code == 1 and "cannot load" in refused.output
