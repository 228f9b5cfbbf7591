"""Decision logs as a table: records streamed into Arrow batches, queried with DuckDB as `decisions`.

Bad lines are skipped, counted and located, never silently dropped; a log larger than memory
streams batch by batch.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa

from governance.audit.lines import json_records
from governance.audit.skips import Skips
from governance.audit.verify import log_files, record_problem

SCHEMA = pa.schema([
    ("decision_id", pa.string()), ("timestamp", pa.string()), ("date", pa.string()),
    ("domain", pa.string()), ("product", pa.string()), ("action", pa.string()),
    ("principal", pa.string()), ("allowed", pa.bool_()), ("effect", pa.string()),
    ("kind", pa.string()), ("policies", pa.list_(pa.string())), ("masked_columns", pa.list_(pa.string())),
    ("classification", pa.string()), ("reason_code", pa.string()), ("eval_ns", pa.int64()),
    ("req_id", pa.int64()), ("requested_by", pa.string()), ("revisions", pa.string()),
    ("input", pa.string()), ("result", pa.string()), ("file", pa.string()), ("line", pa.int64()),
])  # fmt: skip


# What a summary reads: the wide columns (revisions, input) are never encoded for it.
SUMMARY_SCHEMA = pa.schema([
    SCHEMA.field(name) for name in (
        "timestamp", "domain", "product", "action", "principal", "allowed", "effect", "kind",
        "policies", "reason_code",
    )
])  # fmt: skip


def _summary_row(record: dict[str, Any]) -> dict[str, Any]:
    """The SUMMARY_SCHEMA columns only: a summary reads half the fields of a row."""
    request, result = record["input"], record["result"]
    return {
        "timestamp": record["timestamp"], "domain": result.get("domain"),
        "product": request.get("resource", {}).get("id"),
        "action": request.get("action", {}).get("name"),
        "principal": request.get("subject", {}).get("id"), "allowed": result["allowed"],
        "effect": result.get("effect"), "kind": result.get("kind"),
        "policies": [p["id"] for p in result.get("policies", ())],
        "reason_code": result.get("reason_code"),
    }  # fmt: skip


def _row(record: dict[str, Any], file: str, line: int, wide: bool = True) -> dict[str, Any]:
    subject, resource = record["input"].get("subject", {}), record["input"].get("resource", {})
    result = record["result"]
    row = {
        "decision_id": record["decision_id"], "timestamp": record["timestamp"],
        "date": record["timestamp"][:10], "domain": result.get("domain"),
        "product": resource.get("id"), "action": record["input"].get("action", {}).get("name"),
        "principal": subject.get("id"), "allowed": bool(result["allowed"]),
        "effect": result.get("effect"), "kind": result.get("kind"),
        "policies": [p["id"] for p in result.get("policies", [])],
        "masked_columns": [m["column"] for m in result.get("masks", [])],
        "classification": result.get("classification"), "reason_code": result.get("reason_code"),
        "eval_ns": record.get("metrics", {}).get("timer_govern_eval_ns"),
        "req_id": record.get("req_id"), "requested_by": record.get("requested_by"),
        "file": file, "line": line,
    }  # fmt: skip
    if wide:
        row["revisions"] = orjson.dumps(record.get("revisions", {})).decode()
        row["input"] = orjson.dumps(record["input"]).decode()
        row["result"] = orjson.dumps(result).decode()
    return row


def rows(
    paths: Iterable[str | Path], skips: Skips, wide: bool | None = True
) -> Iterator[dict[str, Any]]:
    """Rows of every decision record: wide (with the JSON columns), narrow, or (None) the
    summary's columns only."""
    for path in log_files(paths):
        for number, record in json_records(path, skips):
            row, problem = _read(record, path.name, number, wide)
            if row is None:
                skips.add(f"{path.name}:{number}: {problem}")
            else:
                yield row


def _read(
    record: dict[str, Any], file: str, number: int, wide: bool | None
) -> tuple[dict[str, Any], None] | tuple[None, str]:
    """The row of one record, or why the record is skipped."""
    problem = record_problem(record)
    if problem is not None:
        return None, problem
    try:
        return (_summary_row(record) if wide is None else _row(record, file, number, wide)), None
    except (KeyError, TypeError, AttributeError) as exc:
        return None, f"not a decision record ({exc!r})"


def batches(
    paths: Iterable[str | Path], skips: Skips, size: int = 8192, schema: pa.Schema = SCHEMA
) -> pa.RecordBatchReader:
    """The records as a stream of Arrow batches of `size` rows: one batch in memory at a time."""
    wide = (
        None
        if schema.equals(SUMMARY_SCHEMA)
        else bool({"input", "result", "revisions"} & set(schema.names))
    )

    def generate() -> Iterator[pa.RecordBatch]:
        chunk: list[dict[str, Any]] = []
        for row in rows(paths, skips, wide):
            chunk.append(row)
            if len(chunk) == size:
                yield pa.RecordBatch.from_pylist(chunk, schema=schema)
                chunk = []
        if chunk:
            yield pa.RecordBatch.from_pylist(chunk, schema=schema)

    return pa.RecordBatchReader.from_batches(schema, generate())


def query(paths: Iterable[str | Path], sql: str) -> tuple[list[str], list[tuple[Any, ...]], Skips]:
    """Run `sql` over the logs as table `decisions`; raises duckdb.Error on a bad query."""
    import duckdb

    skips = Skips()
    connection = duckdb.connect()
    connection.register("decisions", batches(paths, skips))
    cursor = connection.execute(sql)
    columns = [d[0] for d in cursor.description or []]
    return columns, cursor.fetchall(), skips
