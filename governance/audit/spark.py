"""Replay and summarise a Parquet lake of decision logs with Spark (the optional `spark` extra).

The lake is what `govern audit export --parquet` writes (hive partitions by date and domain).
The job ships what executors need: the `governance` package as a zip on their Python path, and
the candidate policy tree (or bundles and their trust file) as one zip each executor unpacks
once. Replay runs `mapInArrow` over the records: every Python worker loads the candidate once
and re-decides its partitions with the same `Replayer` as `govern audit replay`. A summary is
plain Spark SQL and returns the `Summary` that `govern audit summary` renders.

    spark-submit "$(python -c 'import governance.audit.spark as m; print(m.__file__)')" \
        replay LAKE --policies DIR --out FLIPS
    python -m governance.audit.spark summary LAKE --master 'local[*]'  # JSON on stdout
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from governance.audit.replay import Candidate, Replayer, ReplayResult
from governance.audit.summary import Row, Summary, Table

FLIP_COLUMNS = (
    "status string, change string, domain string, responsible array<string>, "
    "columns array<string>, file string, line bigint, decision_id string, timestamp string, "
    "principal string, action string, product string, request string, before string, "
    "after string, reason string, replayed bigint"
)
_SHIPPED: dict[str, Replayer] = {}  # per Python worker: shipped candidate -> its replayer


@dataclass(frozen=True, slots=True)
class LakeReplay:
    replayed: int
    skipped: int
    flips: Any  # DataFrame of FLIP_COLUMNS with status = 'flip'
    skips: Any  # DataFrame with status = 'skipped' (file, line, reason)


def session(app: str = "govern-audit", master: str | None = None) -> Any:
    """A Spark session whose partition columns stay strings (`date=2026-11-01` is text)."""
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName(app)
    if master is not None:
        builder = builder.master(master)
    if master is not None and master.startswith("local"):
        # on loopback only, and the workers run this interpreter (the one that has cedarpy):
        # pyspark reads the worker's interpreter from the environment when the context starts
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        builder = builder.config("spark.driver.host", "127.0.0.1").config(
            "spark.driver.bindAddress", "127.0.0.1"
        )
    return (
        builder.config("spark.sql.sources.partitionColumnTypeInference.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )


def _zip(folder: Path, into: Path, trust: Path | None = None) -> Path:
    with zipfile.ZipFile(into, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, Path("candidate") / path.relative_to(folder))
        if trust is not None:
            archive.writestr("trust.yaml", _inline_trust(trust))
    return into


def _inline_trust(path: Path) -> str:
    """The trust file with its public keys inlined: the key files beside it are not shipped
    (a folder of keys may hold private ones too). Raises TrustFileError on a bad trust file."""
    import yaml
    from cryptography.hazmat.primitives import serialization

    from governance.bundle.trust import load_trust

    keys = [
        {
            "name": key.name,
            "public_key": key.public.public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            ).decode(),
            "layers": sorted(key.layers),
        }
        for key in load_trust(path).keys.values()
    ]
    return yaml.safe_dump({"keys": keys}, sort_keys=True)


def ship(spark: Any, candidate: Candidate) -> str:
    """Ship the governance package and the candidate to every executor; the candidate's name
    in SparkFiles (content-addressed, so a changed tree is never confused with an old one)."""
    context = spark.sparkContext
    temp = Path(tempfile.mkdtemp(prefix="govern-spark-"))
    package = Path(__file__).resolve().parents[1]  # the governance package this module is in
    with zipfile.ZipFile(temp / "governance.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        for path in [*sorted(package.rglob("*.py")), package / "py.typed"]:
            archive.write(path, Path("governance") / path.relative_to(package))
    context.addPyFile(str(temp / "governance.zip"))
    folder = candidate.bundles or candidate.policies
    if folder is None:
        raise ValueError("give the candidate policies or bundles")
    shipped = _zip(Path(folder), temp / "candidate.zip", candidate.trust)
    digest = hashlib.sha256(shipped.read_bytes()).hexdigest()[:16]
    kind = "bundles" if candidate.bundles is not None else "policies"
    named = shipped.rename(temp / f"govern-{kind}-{digest}.zip")
    context.addFile(str(named))
    return named.name


def _replayer(name: str) -> Replayer:
    """The shipped candidate, unpacked and loaded once per Python worker."""
    found = _SHIPPED.get(name)
    if found is None:
        from pyspark import SparkFiles

        target = Path(tempfile.mkdtemp(prefix="govern-candidate-"))
        with zipfile.ZipFile(SparkFiles.get(name)) as archive:
            archive.extractall(target)
        root = target / "candidate"
        if name.startswith("govern-bundles-"):
            found = Replayer(Candidate(bundles=root, trust=target / "trust.yaml"))
        else:
            found = Replayer(Candidate(policies=root))
        _SHIPPED[name] = found
    return found


def replay_batches(name: str, batches: Iterator[Any]) -> Iterator[Any]:
    """The `mapInArrow` function: record batches of the lake in, flips and skips out."""
    import pyarrow as pa

    replayer = _replayer(name)
    for batch in batches:
        result = ReplayResult()
        rows = []
        for row in batch.to_pylist():
            record = _record(row)
            problem = (
                replayer.replay_record(record, row["file"], row["line"], result)
                if record is not None
                else "not a decision record (unreadable JSON columns)"
            )
            if problem is not None:
                rows.append({"status": "skipped", "file": row["file"], "line": row["line"],
                             "decision_id": row.get("decision_id"), "reason": problem})  # fmt: skip
        rows += [_flip_row(flip) for flip in result.flips]
        rows.append({"status": "batch", "replayed": result.replayed})
        yield pa.RecordBatch.from_pylist(rows, schema=_flip_schema())


def _record(row: dict[str, Any]) -> dict[str, Any] | None:
    try:
        return {
            "decision_id": row["decision_id"],
            "timestamp": row["timestamp"],
            "input": orjson.loads(row["input"]),
            "result": orjson.loads(row["result"]),
            "revisions": orjson.loads(row["revisions"]),
        }
    except (orjson.JSONDecodeError, TypeError):
        return None


def _flip_row(flip: Any) -> dict[str, Any]:
    request = flip.request
    return {
        "status": "flip", "change": flip.change, "domain": flip.domain,
        "responsible": list(flip.responsible), "columns": list(flip.columns),
        "file": flip.file, "line": flip.line, "decision_id": flip.decision_id,
        "timestamp": flip.timestamp,
        "principal": str(request.get("subject", {}).get("id")),
        "action": str(request.get("action", {}).get("name")),
        "product": str(request.get("resource", {}).get("id")),
        "request": orjson.dumps(request).decode(),
        "before": orjson.dumps(flip.before.to_dict()).decode(),
        "after": orjson.dumps(flip.after.to_dict()).decode(),
    }  # fmt: skip


def _flip_schema() -> Any:
    import pyarrow as pa

    text, number, texts = pa.string(), pa.int64(), pa.list_(pa.string())
    names = [c.strip().split(" ") for c in FLIP_COLUMNS.split(", ")]
    types = {"string": text, "bigint": number, "array<string>": texts}
    return pa.schema([(name, types[kind]) for name, kind in names])


def replay_lake(spark: Any, lake: str | Path, candidate: Candidate) -> LakeReplay:
    """Replay every record of the lake against `candidate` on the cluster."""
    name = ship(spark, candidate)
    records = spark.read.parquet(str(lake)).select(
        "decision_id", "timestamp", "input", "result", "revisions", "file", "line"
    )
    from pyspark.sql import functions

    out = records.mapInArrow(lambda batches: replay_batches(name, batches), FLIP_COLUMNS).cache()
    statuses = out.groupBy("status").agg(
        functions.count("*").alias("n"), functions.sum("replayed").alias("replayed")
    )
    counts = {row["status"]: (row["n"], row["replayed"]) for row in statuses.collect()}
    replayed = int(counts.get("batch", (0, 0))[1] or 0)
    skipped = int(counts.get("skipped", (0, 0))[0])
    return LakeReplay(
        replayed, skipped, out.where("status = 'flip'"), out.where("status = 'skipped'")
    )


_KEYS = {
    "by_domain": ("Decisions by domain", "domain", "coalesce(domain, '(no domain)')"),
    "by_product": ("Decisions by product", "product", "coalesce(product, '(none)')"),
    "by_action": ("Decisions by action", "action", "coalesce(action, '(none)')"),
    "by_effect": ("Decisions by effect", "effect (kind)",
                  "concat(effect, ' (', CASE WHEN reason_code IS NULL THEN kind ELSE 'refused' END, ')')"),
}  # fmt: skip


def summarise_lake(spark: Any, lake: str | Path, *, top: int = 10, bucket: str = "day") -> Summary:
    """The same summary as `govern audit summary`, computed by Spark SQL over the lake."""
    spark.read.parquet(str(lake)).createOrReplaceTempView("govern_decisions")
    sql = spark.sql

    def rows(query: str) -> list[Row]:
        return [Row(str(r[0]), int(r[1]), int(r[2])) for r in sql(query).collect()]

    def grouped(key: str, source: str = "govern_decisions", limit: str = "") -> list[Row]:
        return rows(
            f"SELECT {key} AS k, count(*) AS n, count_if(NOT allowed) AS denied FROM {source} "
            f"GROUP BY 1 ORDER BY n DESC, k {limit}"
        )

    totals = sql(
        "SELECT count(*), count_if(NOT allowed), count_if(reason_code IS NOT NULL), "
        "date_format(min(to_timestamp(timestamp)), \"yyyy-MM-dd'T'HH:mm:ss'Z'\"), "
        "date_format(max(to_timestamp(timestamp)), \"yyyy-MM-dd'T'HH:mm:ss'Z'\") "
        "FROM govern_decisions"
    ).first()
    summary = Summary(int(totals[0]), int(totals[1]), int(totals[2]), totals[3], totals[4], bucket)
    tables = [
        Table(name, title, label, grouped(key)) for name, (title, label, key) in _KEYS.items()
    ]
    trunc = "HOUR" if bucket == "hour" else "DAY"
    tables.append(Table("deny_rate_over_time", f"Deny rate per {bucket}", bucket, rows(
        f"SELECT date_format(date_trunc('{trunc}', to_timestamp(timestamp)), "
        "\"yyyy-MM-dd'T'HH:mm:ss'Z'\") AS k, count(*), count_if(NOT allowed) "
        "FROM govern_decisions WHERE to_timestamp(timestamp) IS NOT NULL GROUP BY 1 ORDER BY 1"
    )))  # fmt: skip
    policies = "(SELECT explode(policies) AS policy, allowed FROM govern_decisions)"
    tables.append(Table("top_policies", "Top determining policies", "policy",
                        grouped("policy", policies, f"LIMIT {int(top)}")))  # fmt: skip
    tables.append(Table("top_denied_principals", "Principals with most denies", "principal", rows(
        "SELECT coalesce(principal, '(none)') AS k, count(*) AS n, count_if(NOT allowed) AS d "
        f"FROM govern_decisions GROUP BY 1 HAVING d > 0 ORDER BY d DESC, k LIMIT {int(top)}"
    )))  # fmt: skip
    refusals = "(SELECT * FROM govern_decisions WHERE reason_code IS NOT NULL)"
    tables.append(Table("refusals", "Refusals by reason code", "reason code",
                        grouped("reason_code", refusals)))  # fmt: skip
    summary.tables = tables
    return summary


def main(argv: list[str] | None = None) -> int:
    """The job's entry point under spark-submit (or plain python in local mode)."""
    parser = argparse.ArgumentParser(prog="governance.audit.spark")
    verbs = parser.add_subparsers(dest="verb", required=True)
    replay = verbs.add_parser("replay", help="replay the lake against candidate policies")
    replay.add_argument("lake")
    replay.add_argument("--policies", type=Path)
    replay.add_argument("--bundles", type=Path)
    replay.add_argument("--trust", type=Path)
    replay.add_argument("--out", required=True, help="folder for the flips, as Parquet")
    summary = verbs.add_parser("summary", help="summarise the lake")
    summary.add_argument("lake")
    summary.add_argument("--top", type=int, default=10)
    summary.add_argument("--bucket", choices=["hour", "day"], default="day")
    for verb in (replay, summary):
        verb.add_argument("--master", help="Spark master (default: what spark-submit set)")
    args = parser.parse_args(argv)
    spark = session(master=args.master)
    if args.verb == "summary":
        result = summarise_lake(spark, args.lake, top=args.top, bucket=args.bucket)
        sys.stdout.write(orjson.dumps(result.to_dict(), option=orjson.OPT_INDENT_2).decode() + "\n")
        return 0
    if (args.policies is None) == (args.bundles is None):
        parser.error("give exactly one of --policies and --bundles")
    done = replay_lake(spark, args.lake, Candidate(args.policies, args.bundles, args.trust))
    done.flips.drop("status", "reason", "replayed").write.mode("overwrite").partitionBy(
        "change", "domain"
    ).parquet(args.out)
    counts = {r["change"]: r["count"] for r in done.flips.groupBy("change").count().collect()}
    sys.stdout.write(orjson.dumps({"replayed": done.replayed, "skipped": done.skipped,
                                   "changes": counts}).decode() + "\n")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
