"""A cheap fingerprint of a policy tree on disk (paths, sizes, mtimes), to notice edits by polling."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from governance.tree.unread import ROOT_ENTRIES


def tree_fingerprint(root: str | Path) -> str:
    """Digest of the resolved root and the (path, size, mtime, inode) of every file the loader
    could read: the root's known entries, and every non-hidden file below its folders.

    Only `stat` calls, no reads, so polling a large tree every few seconds stays cheap. A file
    rewritten in place changes its mtime (nanoseconds) or size; one replaced by a rename changes
    its inode; a `policies -> releases/B` symlink swap changes the resolved root. An unreadable
    or missing tree has a fingerprint too, so its appearing is a change."""
    pinned = os.path.realpath(root)
    digest = hashlib.sha256(pinned.encode(errors="surrogateescape") + b"\0")
    try:
        entries = sorted(e for e in os.listdir(pinned) if e in ROOT_ENTRIES)
    except OSError as exc:
        digest.update(f"unreadable:{exc.errno}".encode())
        return digest.hexdigest()
    for entry in entries:
        _add(digest, pinned, entry)
    return digest.hexdigest()


def _add(digest: hashlib._Hash, root: str, entry: str) -> None:
    top = os.path.join(root, entry)
    if not os.path.isdir(top):
        _stat(digest, root, top)
        return
    for folder, dirs, files in os.walk(top):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if not name.startswith("."):
                _stat(digest, root, os.path.join(folder, name))


def _stat(digest: hashlib._Hash, root: str, path: str) -> None:
    name = os.path.relpath(path, root).encode(errors="surrogateescape")
    try:
        st = os.stat(path)
    except OSError:  # removed between listing and stat: the next poll sees the settled state
        digest.update(name + b"\0gone\n")
        return
    digest.update(name + f"\0{st.st_size}:{st.st_mtime_ns}:{st.st_ino}\n".encode())
