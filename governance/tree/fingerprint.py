"""Cheap fingerprints of a policy tree on disk (paths, sizes, mtimes): to notice edits by polling,
and to know which layers a reload need not read."""

from __future__ import annotations

import hashlib
import os
import stat
import time
from pathlib import Path
from typing import Any

from governance.tree.unread import ROOT_ENTRIES


def tree_fingerprint(root: str | Path) -> str:
    """Digest of the resolved root and the (path, size, mtime, ctime, inode) of every file the
    loader could read: the root's known entries, and every non-hidden file below its folders.

    Only `stat` calls, no reads, so polling a large tree every few seconds stays cheap. A file
    rewritten in place changes its mtime (nanoseconds), ctime or size (the ctime even when a tool
    sets the old mtime back); one replaced by a rename changes its inode; a `policies -> releases/B` symlink swap changes the resolved root. An unreadable
    or missing tree has a fingerprint too, so its appearing is a change."""
    return tree_state(root)[0]


def tree_state(root: str | Path) -> tuple[str, bool]:
    """The tree's fingerprint, and whether it is settled: no file changed within `SETTLE_NS`
    of now. An unsettled file can be rewritten again within its timestamp's resolution with the
    same size and stamps, so a fingerprint equal to it does not prove the tree unchanged."""
    pinned = os.path.realpath(root)
    digest = hashlib.sha256(pinned.encode(errors="surrogateescape") + b"\0")
    try:
        entries = sorted(e for e in os.listdir(pinned) if e in ROOT_ENTRIES)
    except OSError as exc:
        digest.update(f"unreadable:{exc.errno}".encode())
        return digest.hexdigest(), True
    newest = [0]
    for entry in entries:
        _add(digest, pinned, entry, newest)
    return digest.hexdigest(), newest[0] < time.time_ns() - SETTLE_NS


def _add(digest: hashlib._Hash, root: str, entry: str, newest: list[int]) -> None:
    top = os.path.join(root, entry)
    if not os.path.isdir(top):
        _stat(digest, root, top, newest)
        return
    # The loader follows a linked folder (a domain, a layer's `access`) as its own, so the walk
    # does too, each link's target in the digest; a target already walked through a link (a
    # loop, or a second way in) is not walked again, so a loop cannot hang the poll.
    linked: set[str] = set()
    for folder, dirs, files in os.walk(top, followlinks=True):
        dirs[:] = [d for d in sorted(dirs) if not d.startswith(".") and _walked(
            digest, root, os.path.join(folder, d), linked
        )]  # fmt: skip
        for name in sorted(files):
            if not name.startswith("."):
                _stat(digest, root, os.path.join(folder, name), newest)


def _walked(digest: hashlib._Hash, root: str, folder: str, linked: set[str]) -> bool:
    """Whether to walk `folder`: a plain one always; a link, once per target it resolves to
    (and never one into a folder holding it), after its target is added to the digest."""
    if not os.path.islink(folder):
        return True
    target = os.path.realpath(folder)
    name = os.path.relpath(folder, root).encode(errors="surrogateescape")
    digest.update(name + b"\0link:" + target.encode(errors="surrogateescape") + b"\n")
    holder = os.path.realpath(os.path.dirname(folder))
    if target in linked or holder == target or holder.startswith(target + os.sep):
        return False
    linked.add(target)
    return True


def _stat(digest: hashlib._Hash, root: str, path: str, newest: list[int]) -> None:
    name = os.path.relpath(path, root).encode(errors="surrogateescape")
    try:
        st = os.stat(path)
    except OSError:  # removed between listing and stat: the next poll sees the settled state
        digest.update(name + b"\0gone\n")
        return
    newest[0] = max(newest[0], st.st_mtime_ns, st.st_ctime_ns)
    digest.update(name + f"\0{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}:{st.st_ino}\n".encode())


# How long after a file's last change its stat is not trusted to tell a later change apart.
# A filesystem stamps a change with a clock of limited resolution (a kernel tick on ext4, 1 s
# on ext3 and HFS+, 2 s on FAT): a file rewritten within that resolution of the time it was
# read can keep its size and mtime. Such a file ("racily clean", as git calls it) is read
# again on the next load; 2 s covers the coarsest of these.
SETTLE_NS = 2_000_000_000

Listing = tuple[tuple[Any, ...], ...]


def layer_listing(folder: Path) -> Listing | None:
    """Every entry below a layer folder with the stat of each file (size, mtime, ctime, inode,
    device), taken before the layer is read: equal listings mean no file was added, removed,
    replaced or rewritten, so the layer read from it can be taken again without reading.

    None, never to be matched, when the listing cannot vouch for the files: a symlink or a
    special file anywhere (what it points at can change without a trace here), an unreadable
    folder, or a file changed within `SETTLE_NS` of now (its next change may leave the same
    stat). The ctime is in the stat because no program sets it back: a rewrite that restores
    the old size and mtime (`touch -d`, `cp -p`, `rsync -t`) still changes it."""
    entries: list[tuple[Any, ...]] = []
    settled = time.time_ns() - SETTLE_NS
    try:
        if _list(os.fspath(folder), "", entries, settled):
            return tuple(entries)
    except OSError:
        pass
    return None


def _list(folder: str, prefix: str, entries: list[tuple[Any, ...]], settled: int) -> bool:
    # In the folder's own order: an unchanged folder lists the same way, and a changed one
    # differs anyway (a reordering alone only costs a read).
    with os.scandir(folder) as found:
        listed = list(found)
    for entry in listed:
        name = prefix + entry.name
        if entry.is_symlink():
            return False
        if entry.is_dir(follow_symlinks=False):
            entries.append((name, "dir"))
            # Nothing the loader reads lies in a hidden folder; its presence is listed.
            if not entry.name.startswith(".") and not _list(
                entry.path, name + "/", entries, settled
            ):
                return False
            continue
        st = entry.stat(follow_symlinks=False)
        if not stat.S_ISREG(st.st_mode) or st.st_ctime_ns >= settled or st.st_mtime_ns >= settled:
            return False
        entries.append((name, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev))
    return True
