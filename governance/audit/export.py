"""Decision logs as a Parquet lake: hive-partitioned by `date` and `domain`, for Spark, Trino or DuckDB.

The records stream through DuckDB's `COPY ... PARTITION_BY` one Arrow batch at a time. Every
partition value is URL-encoded in its folder name by DuckDB (a domain of `../x` stays inside the
target), and a request refused before any policy ran has no domain: it lands in
`domain=__HIVE_DEFAULT_PARTITION__`, which Spark and Trino read as null.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from governance.audit.skips import Skips
from governance.audit.table import batches
from governance.errors import GovernanceError


class ExportError(GovernanceError):
    """The target cannot be written: not empty (without overwrite), or not a folder."""


@dataclass(slots=True)
class Export:
    records: int = 0
    files: list[Path] = field(default_factory=list)
    skips: Skips = field(default_factory=Skips)


def export_parquet(
    paths: Iterable[str | Path], target: str | Path, *, overwrite: bool = False
) -> Export:
    """Write the decision records of `paths` under `target` as `date=YYYY-MM-DD/domain=D/*.parquet`.

    Raises ExportError when `target` holds files and `overwrite` is off, duckdb.Error when
    writing fails."""
    import duckdb

    folder = Path(target)
    if folder.exists() and not folder.is_dir():
        raise ExportError(f"`{folder}` is not a folder")
    if folder.is_dir() and any(folder.iterdir()) and not overwrite:
        raise ExportError(f"`{folder}` is not empty (overwrite it with --overwrite)")
    folder.mkdir(parents=True, exist_ok=True)
    result = Export()
    connection = duckdb.connect()
    try:
        connection.execute("SET preserve_insertion_order = false")
        connection.register("decisions", batches(paths, result.skips))
        mode = ", OVERWRITE" if overwrite else ""
        target_sql = str(folder).replace("'", "''")
        connection.execute(
            f"COPY decisions TO '{target_sql}' "
            f"(FORMAT PARQUET, COMPRESSION ZSTD, PARTITION_BY (date, domain){mode})"
        )
        result.files = sorted(folder.rglob("*.parquet"))
        if result.files:  # what is on disk, read back from the files' footers
            written = connection.execute(
                f"SELECT count(*) FROM read_parquet('{target_sql}/**/*.parquet')"
            ).fetchone()
            result.records = int(written[0]) if written else 0
    finally:
        connection.close()
    return result
