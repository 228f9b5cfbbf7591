"""Live reload of a served policy tree: poll its fingerprint, reload incrementally, keep the last good set.

Each check compares the tree's fingerprint (sizes and mtimes, `governance/tree/fingerprint.py`)
with the one of the last load; a change reloads through `Engine.reload`, which reuses what the
unchanged domains determine (docs/reload.md). A tree that fails to load leaves the last good set
serving, and its problems stay in `status` until a later edit loads.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Literal

from governance.bundle.status import LayerRevision, TreeStatus
from governance.engine import Engine
from governance.errors import ReloadError
from governance.snapshot import Snapshot
from governance.tree.fingerprint import tree_state

Outcome = Literal["activated", "unchanged", "refused"]
SHOWN_PROBLEMS = 20  # a broken tree can have thousands; the status names the first ones


class TreeWatcher:
    """Keeps `engine` on the tree at `path`; `check` is safe to call from any thread."""

    def __init__(
        self, engine: Engine, path: str | Path, seen: tuple[str, bool] | None = None
    ) -> None:
        """`seen` is the tree's state (`tree_state`) taken before the engine's first load (so
        an edit made during that load is a change); None takes it now."""
        self.engine = engine
        self.path = Path(path)
        self._lock = threading.Lock()
        self._seen = _trusted(*(tree_state(self.path) if seen is None else seen))
        now = _now()
        self._status = TreeStatus(
            str(self.path),
            {n: LayerRevision(r, now) for n, r in _revisions(engine.snapshot).items()},
            last_activation=now,
        )

    @property
    def status(self) -> TreeStatus:
        return self._status

    def check(self) -> Outcome:
        """Reload when the tree changed since the last load (or failed load)."""
        with self._lock:
            seen, settled = tree_state(self.path)  # before reading: an edit during the load
            if seen == self._seen:  # is a change for the next check
                return "unchanged"
            self._seen = _trusted(seen, settled)
            try:
                self.engine.reload(self.path)
            except ReloadError as exc:
                problems = [str(p) for p in exc.errors] or [str(exc)]
                self._refused(problems, len(exc.errors))
                return "refused"
            except Exception as exc:  # never let the watcher die; the last good set serves
                self._refused([f"reload failed: {type(exc).__name__}: {exc}"], 1)
                return "refused"
            self._activated(_revisions(self.engine.snapshot))
            return "activated"

    def _activated(self, revisions: Mapping[str, str]) -> None:
        now = _now()
        layers = {
            name: self._status.layers[name]
            if name in self._status.layers and self._status.layers[name].revision == revision
            else LayerRevision(revision, now)
            for name, revision in revisions.items()
        }
        self._status = replace(
            self._status, layers=layers, last_activation=now, errors=(), error_count=0
        )

    def _refused(self, problems: list[str], count: int) -> None:
        shown = problems[:SHOWN_PROBLEMS]
        if count > len(shown):
            shown.append(f"... and {count - len(shown)} more")
        self._status = replace(
            self._status,
            last_error=f"policy tree `{self.path}` did not load: {shown[0]}",
            last_error_at=_now(),
            errors=tuple(shown),
            error_count=count,
        )


def _trusted(fingerprint: str, settled: bool) -> str | None:
    """The fingerprint to compare the next check with: none while a file changed moments ago,
    since a rewrite within its timestamp's resolution can leave the same fingerprint (the
    next check then reloads again; an unchanged tree reloads cheaply, reusing every layer)."""
    return fingerprint if settled else None


def _revisions(snapshot: Snapshot) -> dict[str, str]:
    tree = snapshot.tree
    return {
        "global": tree.global_layer.revision,
        **{name: layer.revision for name, layer in tree.domains.items()},
    }


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
