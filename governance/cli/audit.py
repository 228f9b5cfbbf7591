"""The auditor verbs: `govern audit verify` and `govern audit query`."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from governance.audit import verify_logs


@click.group()
def audit() -> None:
    """Work with decision logs: verify their tamper-evident chains."""


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
    if skips.count:
        click.echo(f"skipped {skips.count} unreadable lines: {'; '.join(skips.examples)}", err=True)


COMMANDS = [audit]
