"""Files a policy tree holds but the loader never reads: each is a warning, never silence.

A misspelt folder (`product/`), a domain's own `waivers.yaml` or a policy file in a subfolder of
`access/` would otherwise be ignored without a word, and its author would believe it in force.
At the tree root, where other files may live, only near-misses of a known name warn.
Documentation (`*.md`, `*.txt`, `README*`, `LICENSE*`) and hidden files are not policy and are
left alone.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable, Iterator
from pathlib import Path

from governance.errors import Location, Problem

# What the loader reads in each kind of folder (docs/FORMATS.md describes each file).
ROOT_ENTRIES = frozenset(
    {"governance.yaml", "schema.cedarschema", "global", "domains", "fixtures.yaml", "demo.yaml"}
)
_LAYER_FILES = {"access", "tests", "classification.yaml", "retention.yaml", "masking.yaml"}
GLOBAL_ENTRIES = frozenset({*_LAYER_FILES, "waivers.yaml"})
DOMAIN_ENTRIES = frozenset({*_LAYER_FILES, "domain.yaml", "products"})
_DOCUMENTATION_SUFFIXES = (".md", ".txt", ".rst")
_DOCUMENTATION_STEMS = ("readme", "license", "changelog", "codeowners")

Display = Callable[[Path], str]


def unread_problems(root: Path, display: Display) -> list[Problem]:
    """Warnings for entries of the tree at `root` that the loader does not read. The root often
    sits in a repository beside other files, so there only near-misses of a known name warn."""
    found = [
        problem
        for problem in _unknown_entries(root, ROOT_ENTRIES, display, "the tree root")
        if "did you mean" in problem.message
    ]
    domains = root / "domains"
    if domains.is_dir():
        with os.scandir(domains) as entries:
            files = sorted(e.name for e in entries if not e.is_dir())
        for name in files:
            child = domains / name
            if not _ignorable(child):
                found.append(_warning(child, display, "only folders under `domains/` are read"))
    return found


def unread_layer_problems(folder: Path, *, is_global: bool, display: Display) -> list[Problem]:
    """Warnings for a layer folder's entries, and its folders' files, that are never read."""
    known = GLOBAL_ENTRIES if is_global else DOMAIN_ENTRIES
    where = "the global layer" if is_global else "a domain folder"
    found = _unknown_entries(folder, known, display, where)
    found += _unread_below(folder / "access", (".cedar",), display, "`access/*.cedar`")
    found += _unread_below(folder / "tests", (".yaml", ".yml"), display, "`tests/*.yaml`")
    if not is_global:
        found += _unread_below(folder / "products", (".yaml", ".yml"), display, "`products/*.yaml`")
    return found


def _unknown_entries(
    folder: Path, known: frozenset[str], display: Display, where: str
) -> list[Problem]:
    found = []
    for child in sorted(folder.iterdir()):
        if child.name in known or _ignorable(child):
            continue
        found.append(_warning(child, display, _why(child, known, where)))
    return found


def _why(child: Path, known: frozenset[str], where: str) -> str:
    if child.name == "waivers.yaml":
        return (
            "waivers are granted only by the central team, in `global/waivers.yaml`; "
            "a domain's own waivers.yaml is not read"
        )
    names = sorted(known)
    close = difflib.get_close_matches(child.name, names, n=1, cutoff=0.75)
    hint = f"; did you mean `{close[0]}`?" if close else ""
    return f"not read: {where} holds only {', '.join(f'`{n}`' for n in names)}{hint}"


def _unread_below(
    folder: Path, suffixes: tuple[str, ...], display: Display, what: str
) -> list[Problem]:
    """Files under `folder` other than its direct children with one of `suffixes` (exact case)."""
    found = []
    for path, direct in sorted(_files_below(os.fspath(folder), direct=True)):
        if direct and os.path.splitext(path)[1] in suffixes:
            continue
        if not _ignorable(Path(path)):
            message = f"not read: only {what} files are read here"
            found.append(_warning(Path(path), display, message))
    return found


def _files_below(folder: str, *, direct: bool) -> Iterator[tuple[str, bool]]:
    """Each file below `folder` (symlinks to files included, hidden entries and symlinked folders
    not entered), and whether it sits directly in `folder`; nothing when it is no folder."""
    try:
        entries = os.scandir(folder)
    except OSError:
        return
    with entries:
        for entry in entries:
            if entry.name.startswith("."):
                continue
            if entry.is_dir(follow_symlinks=False):
                yield from _files_below(entry.path, direct=False)
            elif entry.is_file():
                yield entry.path, direct


def _ignorable(path: Path) -> bool:
    name = path.name.lower()
    return (
        name.startswith(".")
        or name.endswith(_DOCUMENTATION_SUFFIXES)
        or name.startswith(_DOCUMENTATION_STEMS)
    )


def _warning(path: Path, display: Display, message: str) -> Problem:
    return Problem(Location(display(path)), "unread-file", message, "warning")
