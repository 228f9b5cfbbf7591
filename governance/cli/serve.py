"""`govern serve`: the decision server (AuthZEN 1.0 and Trino's OPA plugin) on uvicorn."""

from __future__ import annotations

import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path
from types import FrameType

import click

from governance.errors import GovernanceError
from governance.server.limits import (
    MAX_BATCH,
    MAX_BODY_BYTES,
    MAX_SUBJECTS,
    OPTIONS_ENV,
    TOKEN_ENV,
)


@click.command()
@click.option(
    "--policies",
    "policies",
    type=click.Path(path_type=Path),
    default=Path("policies"),
    show_default=True,
    help="policy tree to serve",
)
@click.option(
    "--bundles",
    "bundles",
    multiple=True,
    help="serve signed bundles instead: a folder, or one http(s) URL per bundle (repeatable)",
)
@click.option(
    "--trust",
    type=click.Path(exists=True, dir_okay=False),
    help="trust file of the keys that may sign each layer (with --bundles)",
)
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False),
    help="keep the last good bundle set here and start from it when the source is down",
)
@click.option(
    "--reload-interval",
    type=click.FloatRange(min=1.0),
    help="seconds between checks for a changed policy tree (default 2) or bundle polls (30)",
)
@click.option(
    "--log",
    "log",
    help="decision log: a folder of hash-chained files, or an http(s) collector URL",
)
@click.option(
    "--subjects",
    type=click.Path(exists=True, dir_okay=False),
    help="principals file (fixtures shape) for subject search and Trino users; "
    "default: the policy tree's fixtures.yaml",
)
@click.option(
    "--subjects-from",
    "subjects_from",
    multiple=True,
    type=click.Path(exists=True),
    help="decision logs (files or folders of *.jsonl[.gz]) whose subjects subject search also "
    "offers, deduplicated (repeatable)",
)
@click.option(
    "--subjects-limit",
    default=MAX_SUBJECTS,
    show_default=True,
    type=click.IntRange(min=1),
    help="most subjects taken from the logs (the most recently seen)",
)
@click.option(
    "--trino",
    "trino",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="trino.yaml: table mapping and operation defaults for Trino's OPA plugin",
)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8181, show_default=True, type=click.IntRange(0, 65535))
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64))
@click.option(
    "--max-body-bytes", default=MAX_BODY_BYTES, show_default=True, type=click.IntRange(min=1024)
)
@click.option(
    "--max-batch",
    default=MAX_BATCH,
    show_default=True,
    type=click.IntRange(min=1),
    help="most evaluations (or Trino filterResources) in one request",
)
@click.option(
    "--token-env",
    default=TOKEN_ENV,
    show_default=True,
    help="environment variable holding the bearer token callers must send (unset: none required)",
)
def serve(
    policies: Path,
    bundles: tuple[str, ...],
    trust: str | None,
    state_dir: str | None,
    reload_interval: float | None,
    log: str | None,
    subjects: str | None,
    subjects_from: tuple[str, ...],
    subjects_limit: int,
    trino: Path | None,
    host: str,
    port: int,
    workers: int,
    max_body_bytes: int,
    max_batch: int,
    token_env: str,
) -> None:
    """Serve decisions over HTTP: AuthZEN 1.0 evaluation, batch and search, Trino's OPA plugin,
    /health, /ready and /metrics. SIGTERM drains requests, flushes the log and exits 0."""
    import uvicorn

    from governance.server.log_subjects import log_files
    from governance.server.runtime import ServeOptions, load_engine, load_subjects, trino_settings

    options = ServeOptions(
        policies=str(policies.resolve()),
        bundles=tuple(
            b if b.startswith(("http://", "https://")) else str(Path(b).resolve()) for b in bundles
        ),
        trust=_absolute(trust),
        state_dir=_absolute(state_dir),
        reload_interval=reload_interval,
        log=log
        if log is None or log.startswith(("http://", "https://"))
        else str(Path(log).resolve()),
        subjects=_absolute(subjects),
        subjects_from=tuple(str(Path(p).resolve()) for p in subjects_from),
        subjects_limit=subjects_limit,
        trino=_absolute(None if trino is None else str(trino)),
        max_body_bytes=max_body_bytes,
        max_batch=max_batch,
        workers=workers,
    )
    try:  # refuse to start on anything with errors, before binding
        trino_settings(options, load_engine(options))
        if options.subjects is not None:
            load_subjects(options.subjects)
        if options.subjects_from:
            log_files(options.subjects_from)  # each worker reads them; here only that they exist
    except GovernanceError as exc:
        raise click.ClickException(str(exc)) from None
    os.environ[OPTIONS_ENV] = options.to_env()
    token = os.environ.get(token_env)
    if token:
        os.environ[TOKEN_ENV] = token
    metrics_dir = _metrics_folder(workers)
    # uvicorn re-raises the SIGTERM it handled once shut down; answering it with a clean exit
    # makes a service manager's stop exit 0 (the log was flushed by the app's shutdown).
    signal.signal(signal.SIGTERM, _exit_cleanly)
    try:
        uvicorn.run(
            "governance.server.runtime:app_from_env",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=10,
        )
    finally:
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)


def _absolute(path: str | None) -> str | None:
    return None if path is None else str(Path(path).resolve())


def _metrics_folder(workers: int) -> str | None:
    """With several workers, prometheus_client's multiprocess mode needs a private folder,
    set before any worker starts."""
    if workers == 1:
        os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
        return None
    folder = tempfile.mkdtemp(prefix="govern-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
    return folder


def _exit_cleanly(signum: int, frame: FrameType | None) -> None:
    sys.exit(0)


COMMANDS = [serve]
