"""From a verified bundle set to an evaluation snapshot, through the ordinary tree loader."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from governance.bundle.errors import TreeRejected, UnsafeEntry
from governance.bundle.verify import VerifiedBundle
from governance.errors import LoadError
from governance.snapshot import EvaluatorName, Snapshot, build_snapshot
from governance.tree.load import displayed_as, load_tree


def materialize(
    bundles: Mapping[str, VerifiedBundle],
    evaluator: EvaluatorName,
    previous: Snapshot | None = None,
) -> Snapshot:
    """Write the files into a private temporary tree, load it, and drop the folder: the
    snapshot holds everything a decision needs in memory. Layers whose revision equals the
    `previous` snapshot's are reused from it (see docs/reload.md)."""
    with tempfile.TemporaryDirectory(prefix="govern-bundles-") as folder:
        root = Path(folder)
        for bundle in bundles.values():
            for name, content in bundle.files.items():
                _write(root, name, content, bundle.name)
        with displayed_as(root, "bundle"):  # sources read `bundle:domains/...`, not a dead folder
            tree, problems = load_tree(root)
        try:
            if tree is None:
                raise LoadError(problems)
            return build_snapshot(tree, problems, evaluator, previous)
        except LoadError as exc:
            names = ", ".join(sorted(b.name for b in bundles.values()))
            shown = "; ".join(str(p).replace(folder + os.sep, "") for p in exc.errors[:3])
            raise TreeRejected(names, shown) from exc


def _write(root: Path, name: str, content: bytes, bundle: str) -> None:
    """Names were checked when the archive was read; O_EXCL and O_NOFOLLOW make sure no
    file lands anywhere but a fresh path inside the private folder."""
    path = root / name
    if root not in path.parents:
        raise UnsafeEntry(bundle, f"entry `{name}` escapes the archive")
    path.parent.mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    with os.fdopen(os.open(path, flags, 0o600), "wb") as out:
        out.write(content)
