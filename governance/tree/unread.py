"""Files a policy tree holds but the loader never reads: each is a warning, never silence.

A misspelt folder (`product/`), a domain's own `waivers.yaml` or a policy file in a subfolder of
`access/` would otherwise be ignored without a word, and its author would believe it in force.
At the tree root, where other files may live, only near-misses of a known name warn.
Documentation (`*.md`, `*.txt`, `README*`, `LICENSE*`) and hidden files are not policy and are
left alone.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
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
        for child in sorted(domains.iterdir()):
            if not child.is_dir() and not _ignorable(child):
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
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.rglob("*")):
        hidden = any(part.startswith(".") for part in path.relative_to(folder).parts)
        if hidden or not path.is_file() or _ignorable(path):
            continue
        if path.parent == folder and path.suffix in suffixes:
            continue
        found.append(_warning(path, display, f"not read: only {what} files are read here"))
    return found


def _ignorable(path: Path) -> bool:
    name = path.name.lower()
    return (
        name.startswith(".")
        or name.endswith(_DOCUMENTATION_SUFFIXES)
        or name.startswith(_DOCUMENTATION_STEMS)
    )


def _warning(path: Path, display: Display, message: str) -> Problem:
    return Problem(Location(display(path)), "unread-file", message, "warning")
