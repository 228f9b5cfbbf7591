"""The Spark job in local mode: replay and summary of an exported lake agree with the local tools."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from governance.audit.export import export_parquet
from governance.audit.replay import Candidate, replay
from governance.audit.spark import main, replay_lake, summarise_lake
from governance.audit.summary import summarise
from tests.audit.conftest import POLICIES, SIMULATED
from tests.audit.test_replay import changed_guardrails

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def lake(simulated_log: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("lake") / "decisions"
    assert export_parquet([simulated_log], target).records == SIMULATED
    return target


@pytest.fixture(scope="module")
def candidate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return changed_guardrails(tmp_path_factory.mktemp("candidate") / "policies")


def test_spark_replay_finds_the_same_flips(
    spark: Any, simulated_log: Path, lake: Path, candidate: Path
) -> None:
    local = replay([simulated_log], Candidate(candidate), jobs=1)
    done = replay_lake(spark, lake, Candidate(candidate))
    assert done.replayed == local.replayed == SIMULATED and done.skipped == 0
    found = {
        (r["file"], r["line"], r["change"], tuple(r["columns"]))
        for r in done.flips.select("file", "line", "change", "columns").collect()
    }
    assert found == {(f.file, f.line, f.change, f.columns) for f in local.flips}
    assert len(found) > 0


def test_spark_replay_against_the_logged_bundles_flips_nothing(spark: Any, lake: Path) -> None:
    repo = POLICIES.parent
    bundles = Candidate(bundles=repo / "bundles", trust=repo / "examples/keys/trust.yaml")
    done = replay_lake(spark, lake, bundles)
    assert done.replayed == SIMULATED and done.flips.count() == 0


def test_spark_summary_matches_the_local_summary(
    spark: Any, simulated_log: Path, lake: Path
) -> None:
    for bucket in ("hour", "day"):
        local = summarise([simulated_log], top=5, bucket=bucket).to_dict()  # type: ignore[arg-type]
        assert summarise_lake(spark, lake, top=5, bucket=bucket).to_dict() == local


def test_job_entry_point_writes_partitioned_flips(
    spark: Any, lake: Path, candidate: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "flips"
    args = ["replay", str(lake), "--policies", str(candidate), "--out", str(out)]
    assert main([*args, "--master", "local[2]"]) == 0
    assert '"replayed":3000' in capsys.readouterr().out
    assert {p.name for p in out.iterdir() if p.is_dir()} == {"change=granted", "change=masked"}
