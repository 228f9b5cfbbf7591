"""What each server worker builds at start: engine, decision log, bundle polling, and the app."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import orjson
import yaml

from governance.bundle.sources import BundleSource, HttpSource
from governance.engine import Engine
from governance.errors import GovernanceError
from governance.logs import BackgroundLog, FileSink, HttpSink
from governance.server import metrics
from governance.server.app import create_app
from governance.server.asgi import App
from governance.server.directory import Principals
from governance.server.limits import (
    MAX_BATCH,
    MAX_BODY_BYTES,
    MAX_SUBJECTS,
    OPTIONS_ENV,
    TOKEN_ENV,
    Limits,
)
from governance.server.log_subjects import subjects_from_logs
from governance.server.tree_watch import TreeWatcher
from governance.server.trino_config import TrinoConfig, TrinoConfigError, load_trino_config
from governance.tree.fingerprint import tree_state

LABELS = {"service": "govern-serve"}
TREE_INTERVAL = 2.0  # seconds between checks of a policy tree (a walk of `stat` calls)
BUNDLE_INTERVAL = 30.0  # seconds between bundle polls (a request per bundle URL)


class SubjectsError(GovernanceError):
    """The --subjects file is not a principals file: the server does not start."""


@dataclass(frozen=True, slots=True)
class ServeOptions:
    """Everything a worker needs, passed through the environment (uvicorn starts each worker
    in a fresh process that calls `app_from_env`)."""

    policies: str | None = "policies"
    bundles: tuple[str, ...] = ()  # one folder, or one URL per bundle
    trust: str | None = None
    state_dir: str | None = None
    reload_interval: float | None = None  # None: TREE_INTERVAL or BUNDLE_INTERVAL
    log: str | None = None  # a folder (hash-chained files) or an http(s) collector URL
    subjects: str | None = None  # principals file; None: the policy tree's fixtures
    trino: str | None = None  # trino.yaml; None: the documented defaults
    subjects_from: tuple[str, ...] = ()  # decision logs whose subjects subject search offers
    subjects_limit: int = MAX_SUBJECTS
    max_body_bytes: int = MAX_BODY_BYTES
    max_batch: int = MAX_BATCH
    workers: int = 1

    def to_env(self) -> str:
        return orjson.dumps(asdict(self)).decode()

    @classmethod
    def from_env(cls) -> ServeOptions:
        raw = orjson.loads(os.environ[OPTIONS_ENV])
        raw["bundles"] = tuple(raw.get("bundles", ()))
        raw["subjects_from"] = tuple(raw.get("subjects_from", ()))
        return cls(**raw)


def load_engine(options: ServeOptions, log: BackgroundLog | None = None) -> Engine:
    """The engine over the policy tree, or over signed bundles verified against `trust`."""
    if options.bundles:
        if options.trust is None:
            raise GovernanceError("serving bundles needs --trust, the file of trusted keys")
        return Engine.from_bundles(
            bundle_source(options.bundles),
            trust=options.trust,
            state_dir=options.state_dir,
            log=log,
        )
    return Engine.from_path(options.policies or "policies", log=log)


def bundle_source(bundles: tuple[str, ...]) -> BundleSource | str:
    if all(b.startswith(("http://", "https://")) for b in bundles):
        return HttpSource(list(bundles))
    if len(bundles) == 1:
        return bundles[0]
    raise GovernanceError("--bundles is one folder, or one or more http(s) URLs (one per bundle)")


def decision_log(options: ServeOptions) -> BackgroundLog | None:
    """A folder gets hash-chained files (one chain per worker, in `worker-<pid>/` when there
    are several); a URL gets OPA-style uploads. A full queue drops and counts, never blocks."""
    if options.log is None:
        return None
    if options.log.startswith(("http://", "https://")):
        sink: FileSink | HttpSink = HttpSink(options.log)
    else:
        folder = Path(options.log)
        if options.workers > 1:
            folder = folder / f"worker-{os.getpid()}"
        sink = FileSink(folder)
    return BackgroundLog(sink, labels=LABELS, when_full="drop")


def trino_settings(options: ServeOptions, engine: Engine) -> TrinoConfig:
    """trino.yaml, checked against the served policies: every action it names exists and
    every product it maps to is in the catalog (TrinoConfigError otherwise)."""
    config = TrinoConfig() if options.trino is None else load_trino_config(options.trino)
    snapshot = engine.snapshot
    for operation, action in sorted(config.actions.items()):
        if action not in snapshot.actions:
            raise TrinoConfigError(f"trino config: `{operation}` maps to unknown action `{action}`")
    for pattern, target in config.tables:
        if target.product not in snapshot.products:
            raise TrinoConfigError(
                f"trino config: `{pattern}` maps to unknown product `{target.product}`"
            )
    return config


def load_subjects(path: str | Path) -> Principals:
    """A fixtures-shaped file: `principals: {name: {type, id, properties}}`."""
    try:
        document = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise SubjectsError(f"{path}: {exc}") from None
    entries = document.get("principals") if isinstance(document, dict) else None
    if not isinstance(entries, dict):
        raise SubjectsError(f"{path}: expected a mapping under `principals`")
    found: dict[str, dict[str, Any]] = {}
    for name, entry in entries.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("properties", {}), dict):
            raise SubjectsError(f"{path}: principal `{name}` must be a mapping with `properties`")
        found[str(name)] = {
            "type": str(entry.get("type", "User")),
            "id": str(entry.get("id", name)),
            "properties": dict(entry.get("properties", {})),
        }
    return found


class Maintenance:
    """One daemon thread per worker: polls bundles, or checks the policy tree, every
    `interval` seconds and refreshes the gauges (log counts, reload status) every second, so
    any worker's `/metrics` is current. With several workers each reloads its own engine."""

    def __init__(
        self,
        engine: Engine,
        log: BackgroundLog | None,
        interval: float,
        tree: TreeWatcher | None = None,
    ) -> None:
        self._engine, self._log, self._interval, self._tree = engine, log, interval, tree
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="govern-maintenance", daemon=True)

    def start(self) -> None:
        self.tick(poll=False)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self.tick(poll=False)

    def tick(self, *, poll: bool) -> None:
        loader = self._engine.bundles
        if loader is not None:
            if poll:
                metrics.record_poll(loader.poll(), loader.status)
            else:
                metrics.record_bundles(loader.status)
        if self._tree is not None:
            metrics.record_tree(self._tree.check() if poll else None, self._tree.status)
        if self._log is not None:
            metrics.record_log(self._log.stats())

    def _run(self) -> None:
        next_poll = time.monotonic() + self._interval
        while not self._stop.wait(1.0):
            due = time.monotonic() >= next_poll
            if due:
                next_poll = time.monotonic() + self._interval
            self.tick(poll=due)


def build_app(options: ServeOptions, token: str | None) -> App:
    log = decision_log(options)
    policies = None if options.bundles else options.policies or "policies"
    seen = None if policies is None else tree_state(policies)  # before the load reads it
    engine = load_engine(options, log)
    trino = trino_settings(options, engine)
    subjects = None if options.subjects is None else load_subjects(options.subjects)
    logged = (
        subjects_from_logs(options.subjects_from, options.subjects_limit)
        if options.subjects_from
        else None
    )
    watcher = None if policies is None else TreeWatcher(engine, policies, seen)
    maintenance = Maintenance(engine, log, reload_interval(options), watcher)
    maintenance.start()
    closers: list[Callable[[], None]] = [maintenance.stop]
    if log is not None:
        closers.append(log.close)  # drains the queue into the sink before the worker exits
    return create_app(
        engine,
        token=token,
        limits=Limits(options.max_body_bytes, options.max_batch),
        principals=subjects,
        trino=trino,
        tree=watcher,
        logged=logged,
        on_shutdown=closers,
    )


def reload_interval(options: ServeOptions) -> float:
    if options.reload_interval is not None:
        return options.reload_interval
    return BUNDLE_INTERVAL if options.bundles else TREE_INTERVAL


def app_from_env() -> App:
    """The factory each uvicorn worker calls."""
    return build_app(ServeOptions.from_env(), os.environ.get(TOKEN_ENV) or None)
