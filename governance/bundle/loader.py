"""Keeping an engine on the newest verified bundles: initial load, polling, last-good, persistence.

Each poll verifies every bundle the source offers on its own; a bundle that fails is reported
and its layer keeps its last good revision, while verified newer layers activate together. The
whole new set is built off to the side and handed over in one swap (a full reload: the engine
has no per-layer incremental reload yet), so a decision never sees two sets mixed.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from governance.bundle.archive import DEFAULT_LIMITS, Limits
from governance.bundle.build import write_atomically
from governance.bundle.errors import BundleRejected, DuplicateLayer, SourceUnavailable
from governance.bundle.materialize import materialize
from governance.bundle.sources import SUFFIX, BundleSource, DirectorySource, Fetched
from governance.bundle.status import BundleStatus, LayerStatus
from governance.bundle.trust import Trust
from governance.bundle.verify import (
    VerifiedBundle,
    check_newer,
    check_schemas,
    check_set,
    verify_bundle,
)
from governance.errors import BundleError
from governance.snapshot import EvaluatorName, Snapshot

Activate = Callable[[Snapshot], None]


@dataclass(frozen=True, slots=True)
class PollResult:
    activated: tuple[str, ...]  # layers whose new revision is now serving
    errors: tuple[BundleError, ...]

    @property
    def changed(self) -> bool:
        return bool(self.activated)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class BundleLoader:
    """Owns the active bundle set of one engine; `poll` is safe to call from any thread."""

    def __init__(
        self,
        source: BundleSource | str | Path,
        trust: Trust,
        *,
        evaluator: EvaluatorName = "compiled",
        limits: Limits = DEFAULT_LIMITS,
        state_dir: str | Path | None = None,
    ) -> None:
        self.source: BundleSource = (
            DirectorySource(source, limits) if isinstance(source, (str, Path)) else source
        )
        self.trust = trust
        self.evaluator: EvaluatorName = evaluator
        self.limits = limits
        self.state_dir = Path(state_dir) if state_dir is not None else None
        self.on_activate: Activate | None = None
        self._active: dict[str, VerifiedBundle] = {}
        self._built: Snapshot | None = None  # the active set's snapshot: unchanged layers reuse it
        self._lock = threading.Lock()
        self._status = BundleStatus(self.source.describe())

    @property
    def status(self) -> BundleStatus:
        return self._status

    @property
    def active(self) -> Mapping[str, VerifiedBundle]:
        return dict(self._active)

    def load(self) -> Snapshot:
        """The first set. Fails closed: without a persisted last good set, any refused bundle
        raises; with one, refusals are reported in `status` and the persisted set serves."""
        with self._lock:
            persisted, errors = self._persisted()
            try:
                fetched = self.source.fetch() or []
            except SourceUnavailable as exc:
                if not persisted:
                    raise
                fetched, errors = [], [*errors, exc]
            if not persisted:
                combined = check_set([self._verify(f) for f in fetched], {})
                snapshot = self._build(combined)
                self._commit(combined, snapshot)
                return snapshot
            changes, refused = self._candidates(fetched, persisted)
            errors += refused
            combined, fell_back = {**persisted, **changes}, not changes
            try:
                snapshot = self._build(combined)
            except BundleRejected as exc:
                errors.append(exc)
                combined, snapshot, fell_back = persisted, self._build(persisted), True
            self._commit(combined, snapshot, from_persisted=fell_back and bool(errors))
            self._record(errors)
            return snapshot

    def poll(self) -> PollResult:
        """Fetch, verify, activate what is newer; a bad bundle or source is reported, not raised."""
        with self._lock:
            try:
                fetched = self.source.fetch()
            except SourceUnavailable as exc:
                self._record([exc])
                return PollResult((), (exc,))
            if fetched is None:
                return PollResult((), ())
            changes, errors = self._candidates(fetched, self._active)
            if changes:
                combined = {**self._active, **changes}
                try:
                    snapshot = self._build(combined)
                except BundleRejected as exc:
                    errors.append(exc)
                    changes = {}
                else:
                    self._commit(combined, snapshot)
                    if self.on_activate is not None:
                        self.on_activate(snapshot)
            self._record(errors)
            return PollResult(tuple(sorted(changes)), tuple(errors))

    def watch(self, interval: float) -> Watcher:
        """Poll every `interval` seconds on a daemon thread until the watcher is stopped."""
        watcher = Watcher(self, interval)
        watcher.start()
        return watcher

    def _verify(self, fetched: Fetched) -> VerifiedBundle:
        if fetched.refused is not None:
            raise fetched.refused
        return verify_bundle(fetched.data, fetched.name, self.trust, self.limits)

    def _candidates(
        self, fetched: Iterable[Fetched], base: Mapping[str, VerifiedBundle]
    ) -> tuple[dict[str, VerifiedBundle], list[BundleError]]:
        """Each bundle judged on its own: the newer layers that verified, and every refusal."""
        by_layer: dict[str, list[VerifiedBundle]] = {}
        errors: list[BundleError] = []
        for item in fetched:
            try:
                bundle = self._verify(item)
            except BundleRejected as exc:
                errors.append(exc)
            else:
                by_layer.setdefault(bundle.layer, []).append(bundle)
        changes: dict[str, VerifiedBundle] = {}
        for layer, bundles in sorted(by_layer.items()):
            try:
                if len(bundles) > 1:
                    other = bundles[0].name
                    raise DuplicateLayer(bundles[1].name, f"`{other}` also carries `{layer}`")
                bundle = bundles[0]
                check_newer(bundle, base.get(layer))
            except BundleRejected as exc:
                errors.append(exc)
                continue
            active = base.get(layer)
            if active is None or active.manifest.revision != bundle.manifest.revision:
                changes[layer] = bundle
        return changes, errors

    def _build(self, combined: Mapping[str, VerifiedBundle]) -> Snapshot:
        check_schemas(combined)
        return materialize(combined, self.evaluator, self._built)

    def _commit(
        self,
        combined: Mapping[str, VerifiedBundle],
        snapshot: Snapshot,
        *,
        from_persisted: bool = False,
    ) -> None:
        """Record `combined` as the active set (the caller swaps the engine's snapshot)."""
        self._built = snapshot
        now = _now()
        layers = {}
        for layer, bundle in combined.items():
            previous = self._status.layers.get(layer)
            same = previous is not None and previous.revision == bundle.manifest.revision
            layers[layer] = LayerStatus(
                revision=bundle.manifest.revision,
                activated_at=previous.activated_at if same and previous else now,
                sequence=bundle.manifest.sequence,
                key=bundle.key.name,
                bundle=bundle.name,
            )
        self._active = dict(combined)
        self._persist()
        self._status = replace(
            self._status,
            layers=layers,
            last_activation=now,
            started_from_persisted=from_persisted,
        )

    def _record(self, errors: list[BundleError]) -> None:
        if errors:
            self._status = replace(
                self._status,
                last_error=str(errors[0]),
                last_error_at=_now(),
                errors=tuple(str(e) for e in errors),
            )
        else:
            self._status = replace(self._status, errors=())

    def _persisted(self) -> tuple[dict[str, VerifiedBundle], list[BundleError]]:
        """The last good set saved on disk, verified again: a tampered copy is never trusted."""
        if self.state_dir is None or not self.state_dir.is_dir():
            return {}, []
        try:
            fetched = DirectorySource(self.state_dir, self.limits).fetch() or []
            bundles = [self._verify(f) for f in fetched]
            combined = check_set(bundles, {}) if bundles else {}
        except (BundleRejected, SourceUnavailable) as exc:
            return {}, [exc]
        return combined, []

    def _persist(self) -> None:
        if self.state_dir is None:
            return
        self.state_dir.mkdir(parents=True, exist_ok=True)
        for layer, bundle in self._active.items():
            path = self.state_dir / f"{layer}{SUFFIX}"
            if not (path.is_file() and path.read_bytes() == bundle.data):
                write_atomically(path, bundle.data)


class Watcher:
    """A daemon thread polling a loader; `stop` ends it and waits for the current poll."""

    def __init__(self, loader: BundleLoader, interval: float) -> None:
        self.loader = loader
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="govern-bundles", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.loader.poll()
