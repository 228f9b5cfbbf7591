"""`govern audit export --parquet`: hive partitions by date and domain, every record once, nothing outside."""

from __future__ import annotations

import collections
from pathlib import Path

import orjson
import pyarrow.dataset as ds
import pytest
from click.testing import CliRunner

from governance.audit.export import ExportError, export_parquet
from governance.audit.lines import read_lines
from governance.audit.verify import log_files
from governance.cli import main
from tests.audit.conftest import SIMULATED


def test_partitions_hold_every_record_once(simulated_log: Path, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    result = export_parquet([simulated_log], lake)
    assert result.records == SIMULATED and result.skips.count == 0
    table = ds.dataset(lake, format="parquet", partitioning="hive").to_table()
    assert table.num_rows == SIMULATED
    assert len(set(table.column("decision_id").to_pylist())) == SIMULATED
    expected: collections.Counter[tuple[str, str | None]] = collections.Counter()
    for path in log_files([simulated_log]):
        for line in read_lines(path):
            record = orjson.loads(line)
            if "decision_id" in record:
                expected[(record["timestamp"][:10], record["result"]["domain"])] += 1
    found = collections.Counter(
        zip(
            [str(d) for d in table.column("date").to_pylist()],
            table.column("domain").to_pylist(),
            strict=True,
        )
    )
    assert found == expected
    folders = {p.relative_to(lake).parent.as_posix() for p in result.files}
    assert "date=2026-11-01/domain=sales" in folders
    assert "date=2026-11-01/domain=__HIVE_DEFAULT_PARTITION__" in folders  # refusals
    row = table.slice(0, 1).to_pylist()[0]
    assert orjson.loads(row["input"])["subject"]["id"] == row["principal"]
    assert orjson.loads(row["result"])["allowed"] is row["allowed"]


def test_a_hostile_domain_stays_inside_the_target(simulated_log: Path, tmp_path: Path) -> None:
    first = log_files([simulated_log])[0]
    record = orjson.loads(list(read_lines(first))[1])
    record["result"]["domain"] = "../../escaped"
    forged = tmp_path / "forged.jsonl"
    forged.write_bytes(orjson.dumps(record) + b"\n")
    lake = tmp_path / "deep" / "lake"
    result = export_parquet([forged], lake)
    assert result.records == 1
    assert all(lake in p.parents for p in result.files)
    assert not (tmp_path / "escaped").exists() and not (tmp_path / "deep" / "escaped").exists()


def test_a_non_empty_target_needs_overwrite(simulated_log: Path, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    export_parquet([simulated_log], lake)
    with pytest.raises(ExportError, match="not empty"):
        export_parquet([simulated_log], lake)
    assert export_parquet([simulated_log], lake, overwrite=True).records == SIMULATED
    runner = CliRunner()
    refused = runner.invoke(main, ["audit", "export", str(simulated_log), "--parquet", str(lake)])
    assert refused.exit_code == 2 and "--overwrite" in refused.output
    done = runner.invoke(
        main, ["audit", "export", str(simulated_log), "--parquet", str(lake), "--overwrite"]
    )
    assert done.exit_code == 0 and f"exported {SIMULATED} records" in done.output
