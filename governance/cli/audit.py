"""The auditor verbs: `govern audit verify`, `summary`, `query` (and the demo's `simulate`)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import click
import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from governance.audit import verify_logs
from governance.audit.skips import Skips


@click.group()
def audit() -> None:
    """Work with decision logs: verify, summarise, query, replay and export them."""


def _public_key(path: Path | None) -> Ed25519PublicKey | None:
    if path is None:
        return None
    try:
        key = load_pem_public_key(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise click.UsageError(f"cannot read public key `{path}`: {exc}") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise click.UsageError(f"`{path}` is not an Ed25519 public key")
    return key


@audit.command()
@click.argument("logs", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--public-key", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Ed25519 public key (PEM) every file's seal must be signed with.")  # fmt: skip
@click.option(
    "--partial", is_flag=True, help="Accept a first file whose chain starts in a file not given."
)
def verify(logs: tuple[Path, ...], public_key: Path | None, partial: bool) -> None:
    """Check the hash chains (and signatures) of LOGS (files or directories); exit 1 on a break."""
    result = verify_logs(logs, public_key=_public_key(public_key), partial=partial)
    if result.ok:
        click.echo(f"ok: {result.records} records in {result.files} files, chain intact")
        return
    for problem in result.breaks:
        click.echo(str(problem), err=True)
    click.echo(f"first broken record: {result.breaks[0].file}:{result.breaks[0].line}", err=True)
    sys.exit(1)


@audit.command()
@click.argument("logs", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.argument("sql")
def query(logs: tuple[Path, ...], sql: str) -> None:
    """Run SQL (DuckDB) over LOGS as the table `decisions`."""
    import duckdb

    from governance.audit.table import query as run_query

    try:
        columns, rows, skips = run_query(logs, sql)
    except duckdb.Error as exc:
        raise click.UsageError(f"query failed: {exc}") from exc
    click.echo("\t".join(columns))
    for row in rows:
        click.echo("\t".join("" if v is None else str(v) for v in row))
    _report_skips(skips)


LOGS = click.argument("logs", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))


@contextmanager
def _progress(what: str, machine_format: bool) -> Iterator[Callable[[int], None] | None]:
    """A rich bar counting records on stderr when it is a terminal and the output is text (the
    total of a streamed log is unknown: see governance/cli/progress.py for bars with a total)."""
    if machine_format or not sys.stderr.isatty() or os.environ.get("CI"):
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn()]  # fmt: skip
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(what, total=None)
        yield lambda done: bar.update(task, completed=done)


def _report_skips(skips: Skips) -> None:
    if skips.count:
        shown = "; ".join(skips.examples)
        click.echo(f"skipped {skips.count} unreadable lines: {shown}", err=True)


@audit.command()
@LOGS
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)  # fmt: skip
@click.option("--html", "html_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write a self-contained HTML report with charts to this file.")  # fmt: skip
@click.option("--top", default=10, show_default=True, type=click.IntRange(1, 10_000),
              help="Rows in the top-policies and top-denied-principals tables.")  # fmt: skip
@click.option("--bucket", type=click.Choice(["auto", "hour", "day"]), default="auto",
              show_default=True, help="Time bucket of the deny-rate table.")  # fmt: skip
def summary(
    logs: tuple[Path, ...], fmt: str, html_path: Path | None, top: int, bucket: str
) -> None:
    """Decisions by domain, product, action and effect, deny rate over time, top policies,
    most-denied principals and refusals by reason code, over LOGS (files or directories)."""
    import duckdb

    from governance.audit.summary import summarise
    from governance.report.audit import render_summary_html, render_summary_text

    try:
        with _progress("reading records", fmt != "text") as progress:
            result = summarise(logs, top=top, bucket=bucket, progress=progress)  # type: ignore[arg-type]
    except duckdb.Error as exc:  # a disk full under the spill directory, say
        raise click.ClickException(f"cannot summarise: {exc}") from exc
    if fmt == "json":
        click.echo(orjson.dumps(result.to_dict(), option=orjson.OPT_INDENT_2).decode())
    else:
        click.echo(render_summary_text(result, color=_color()), nl=False)
    if html_path is not None:
        try:
            html_path.write_text(render_summary_html(result), encoding="utf-8")
        except OSError as exc:
            raise click.ClickException(f"cannot write `{html_path}`: {exc}") from exc
        click.echo(f"wrote {html_path}", err=True)
    _report_skips(result.skips)


@audit.command()
@LOGS
@click.option("--policies", "policies", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Candidate policy tree to re-decide every logged request against.")  # fmt: skip
@click.option("--bundles", "bundles", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Candidate signed bundles (a folder) instead of a tree; needs --trust.")  # fmt: skip
@click.option("--trust", "trust", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Trust file the bundles are verified against.")  # fmt: skip
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)  # fmt: skip
@click.option("--jobs", type=click.IntRange(min=1), help="Worker processes (default: every core).")
@click.option("--limit", type=click.IntRange(min=1), default=10, show_default=True,
              help="Requests listed per policy in text output (JSON lists every flip).")  # fmt: skip
@click.option("--fail-on-grant", is_flag=True, help="Exit 1 if any access would be newly granted.")
def replay(
    logs: tuple[Path, ...],
    policies: Path | None,
    bundles: Path | None,
    trust: Path | None,
    fmt: str,
    jobs: int | None,
    limit: int,
    fail_on_grant: bool,
) -> None:
    """Re-decide every request logged in LOGS against candidate policies; report every flip
    grouped by domain and policy, newly granted access first."""
    from governance.audit.replay import Candidate
    from governance.audit.replay import replay as run_replay
    from governance.errors import BundleError, LoadError
    from governance.report.audit import render_replay_text

    if (policies is None) == (bundles is None):
        raise click.UsageError("give exactly one of --policies and --bundles")
    if bundles is not None and trust is None:
        raise click.UsageError("--bundles needs --trust")
    candidate = Candidate(policies, bundles, trust)
    try:
        with _progress("replaying lines", fmt != "text") as progress:
            result = run_replay(logs, candidate, jobs=jobs, progress=progress)
    except LoadError as exc:
        raise click.ClickException(f"cannot load the candidate policies: {exc}") from exc
    except BundleError as exc:
        raise click.ClickException(f"cannot load the candidate bundles: {exc}") from exc
    if fmt == "json":
        click.echo(orjson.dumps(result.to_dict(), option=orjson.OPT_INDENT_2).decode())
    else:
        against = str(policies or bundles)
        click.echo(render_replay_text(result, against=against, limit=limit), nl=False)
    _report_skips(result.skips)
    if fail_on_grant and result.granted:
        sys.exit(1)


@audit.command("export")
@LOGS
@click.option("--parquet", "target", required=True,
              type=click.Path(file_okay=False, path_type=Path),
              help="Folder to write date=/domain= partitioned Parquet files into.")  # fmt: skip
@click.option("--overwrite", is_flag=True, help="Replace what the folder holds.")
def export(logs: tuple[Path, ...], target: Path, overwrite: bool) -> None:
    """Export the decision records of LOGS as Parquet partitioned by date and domain."""
    import duckdb

    from governance.audit.export import ExportError, export_parquet

    try:
        result = export_parquet(logs, target, overwrite=overwrite)
    except ExportError as exc:
        raise click.UsageError(str(exc)) from exc
    except duckdb.Error as exc:
        raise click.ClickException(f"cannot export: {exc}") from exc
    partitions = len({p.parent for p in result.files})
    click.echo(f"exported {result.records} records to {target} ({partitions} partitions)")
    _report_skips(result.skips)


@audit.command()
@click.argument("policies", default="policies",
                type=click.Path(exists=True, file_okay=False, path_type=Path))  # fmt: skip
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder of the decision log (a log already there is continued).")  # fmt: skip
@click.option("--count", default=3000, show_default=True, type=click.IntRange(1, 100_000_000))
@click.option("--days", default=2.0, show_default=True, type=click.FloatRange(min=0.001),
              help="Span of simulated time the requests are spread over.")  # fmt: skip
@click.option("--seed", default=7, show_default=True, type=int)
@click.option("--gzip", "compress", is_flag=True, help="Write .jsonl.gz files.")
def simulate(policies: Path, out: Path, count: int, days: float, seed: int, compress: bool) -> None:
    """Decide COUNT synthetic gateway requests against POLICIES, writing every decision to a
    hash-chained decision log in --out (for demos, tests and benchmarks)."""
    from governance.audit.simulate import simulate as run_simulation
    from governance.errors import LoadError

    try:
        result = run_simulation(policies, out, count, seed=seed, days=days, compress=compress)
    except LoadError as exc:
        raise click.ClickException(f"cannot load {policies}: {exc}") from exc
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    stats = result.stats
    click.echo(f"logged {stats.written} of {result.requests} decisions to {out} "
               f"({len(result.files)} files, {stats.lost} lost)")  # fmt: skip
    if stats.lost:
        sys.exit(1)


def _color() -> bool:
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


COMMANDS = [audit]
