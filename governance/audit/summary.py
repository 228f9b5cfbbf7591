"""What a decision log says at a glance: decisions by domain, product, action and effect, deny rate
over time, the policies that decided most, the principals denied most, refusals by reason code.

The records stream into a DuckDB table in a temporary on-disk database (only the columns a
summary reads), so a log larger than memory is summarised with bounded memory: DuckDB spills
to disk, and Python holds one batch of records at a time.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from governance.audit.skips import Skips
from governance.audit.table import SUMMARY_SCHEMA, batches

Bucket = Literal["auto", "hour", "day"]
_HOURLY_SPAN_DAYS = 2  # up to this span the deny rate is given per hour (at most 48 rows)


@dataclass(frozen=True, slots=True)
class Row:
    """One line of a breakdown: how many decisions had `key`, how many of them were denied."""

    key: str
    decisions: int
    denied: int

    @property
    def allowed(self) -> int:
        return self.decisions - self.denied

    @property
    def deny_rate(self) -> float:
        return self.denied / self.decisions if self.decisions else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "decisions": self.decisions,
            "allowed": self.allowed,
            "denied": self.denied,
            "deny_rate": round(self.deny_rate, 4),
        }


@dataclass(frozen=True, slots=True)
class Table:
    name: str  # the key in JSON
    title: str
    key_label: str
    rows: list[Row]


@dataclass(slots=True)
class Summary:
    records: int = 0
    denied: int = 0
    refused: int = 0
    first: str | None = None
    last: str | None = None
    bucket: str = "hour"
    tables: list[Table] = field(default_factory=list)
    skips: Skips = field(default_factory=Skips)

    @property
    def allowed(self) -> int:
        return self.records - self.denied

    def table(self, name: str) -> Table:
        return next(t for t in self.tables if t.name == name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "allowed": self.allowed,
            "denied": self.denied,
            "refused": self.refused,
            "deny_rate": round(self.denied / self.records, 4) if self.records else 0.0,
            "first": self.first,
            "last": self.last,
            "bucket": self.bucket,
            **{t.name: [r.to_dict() for r in t.rows] for t in self.tables},
            "skipped": {"count": self.skips.count, "examples": list(self.skips.examples)},
        }


_OUTCOME = "effect || ' (' || CASE WHEN reason_code IS NULL THEN kind ELSE 'refused' END || ')'"
_POLICIES = "(SELECT unnest(policies) AS policy, allowed FROM d)"
_REFUSALS = "(SELECT * FROM d WHERE reason_code IS NOT NULL)"
_BREAKDOWNS: dict[str, tuple[str, str, str, str]] = {
    # name: title, key label, key expression, source
    "by_domain": ("Decisions by domain", "domain", "coalesce(domain, '(no domain)')", "d"),
    "by_product": ("Decisions by product", "product", "coalesce(product, '(none)')", "d"),
    "by_action": ("Decisions by action", "action", "coalesce(action, '(none)')", "d"),
    "by_effect": ("Decisions by effect", "effect (kind)", _OUTCOME, "d"),
    "top_policies": ("Top determining policies", "policy", "policy", _POLICIES),
    "refusals": ("Refusals by reason code", "reason code", "reason_code", _REFUSALS),
}


def summarise(
    paths: Iterable[str | Path],
    *,
    top: int = 10,
    bucket: Bucket = "auto",
    progress: Callable[[int], None] | None = None,
) -> Summary:
    """Summarise the decision records of `paths` (files or directories, gzip or not).

    Unreadable lines are skipped and counted in `summary.skips`; `progress` is called with the
    number of records read so far after every batch."""
    import duckdb

    skips = Skips()
    reader = batches(paths, skips, size=2048, schema=SUMMARY_SCHEMA)
    if progress is not None:
        reader = _counted(reader, progress)
    with tempfile.TemporaryDirectory(prefix="govern-summary-") as temp:
        connection = duckdb.connect(str(Path(temp) / "summary.duckdb"))
        try:
            connection.execute("SET preserve_insertion_order = false")
            connection.execute("SET TimeZone = 'UTC'")
            connection.execute(f"SET temp_directory = '{Path(temp) / 'spill'}'")
            connection.register("reader", reader)
            connection.execute("CREATE TABLE d AS SELECT * FROM reader")
            connection.unregister("reader")
            summary = _summary(connection, top, bucket)
        finally:
            connection.close()
    summary.skips = skips
    return summary


def _counted(reader: Any, progress: Callable[[int], None]) -> Any:
    import pyarrow as pa

    def counting() -> Any:
        seen = 0
        for batch in reader:
            seen += batch.num_rows
            progress(seen)
            yield batch

    return pa.RecordBatchReader.from_batches(reader.schema, counting())


def _summary(connection: Any, top: int, bucket: Bucket) -> Summary:
    records, denied, refused, first, last, span_days = connection.execute(
        "SELECT count(*), count(*) FILTER (WHERE NOT allowed), "
        "count(*) FILTER (WHERE reason_code IS NOT NULL), "
        "strftime(min(try_cast(timestamp AS TIMESTAMPTZ)), '%Y-%m-%dT%H:%M:%SZ'), "
        "strftime(max(try_cast(timestamp AS TIMESTAMPTZ)), '%Y-%m-%dT%H:%M:%SZ'), "
        "date_diff('second', min(try_cast(timestamp AS TIMESTAMPTZ)), "
        "max(try_cast(timestamp AS TIMESTAMPTZ))) / 86400.0 FROM d"
    ).fetchone()
    if bucket == "auto":
        bucket = "hour" if span_days is None or span_days <= _HOURLY_SPAN_DAYS else "day"
    summary = Summary(records, denied, refused, first, last, bucket)

    def breakdown(name: str, limit: int | None = None) -> Table:
        title, label, key, source = _BREAKDOWNS[name]
        return Table(name, title, label, _breakdown(connection, key, source, limit))

    summary.tables = [
        breakdown("by_domain"),
        breakdown("by_product"),
        breakdown("by_action"),
        breakdown("by_effect"),
        Table("deny_rate_over_time", f"Deny rate per {bucket}", bucket, _over_time(connection, bucket)),
        breakdown("top_policies", top),
        Table("top_denied_principals", "Principals with most denies", "principal",
              _denied_principals(connection, top)),
        breakdown("refusals"),
    ]  # fmt: skip
    return summary


def _breakdown(connection: Any, key: str, source: str, limit: int | None) -> list[Row]:
    bounded = "" if limit is None else f" LIMIT {int(limit)}"
    found = connection.execute(
        f"SELECT {key} AS k, count(*) AS n, count(*) FILTER (WHERE NOT allowed) "
        f"FROM {source} GROUP BY k ORDER BY n DESC, k{bounded}"
    ).fetchall()
    return [Row(str(k), n, denied) for k, n, denied in found]


def _over_time(connection: Any, bucket: str) -> list[Row]:
    found = connection.execute(
        f"SELECT strftime(date_trunc('{bucket}', try_cast(timestamp AS TIMESTAMPTZ)), "
        "'%Y-%m-%dT%H:%M:%SZ') AS k, count(*), count(*) FILTER (WHERE NOT allowed) "
        "FROM d WHERE try_cast(timestamp AS TIMESTAMPTZ) IS NOT NULL GROUP BY k ORDER BY k"
    ).fetchall()
    return [Row(k, n, denied) for k, n, denied in found]


def _denied_principals(connection: Any, top: int) -> list[Row]:
    found = connection.execute(
        "SELECT coalesce(principal, '(none)') AS k, count(*) AS n, "
        "count(*) FILTER (WHERE NOT allowed) AS denied FROM d GROUP BY k "
        f"HAVING denied > 0 ORDER BY denied DESC, k LIMIT {int(top)}"
    ).fetchall()
    return [Row(k, n, denied) for k, n, denied in found]
