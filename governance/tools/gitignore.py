"""Walking folders as git sees them: what `.gitignore` files ignore is never visited.

Each `.gitignore` applies below its own folder, a deeper one overrides a shallower one (the last
matching pattern wins, `!` re-includes), and an ignored folder is not entered, as in git. The
`.gitignore` files of the folders above the walked one count up to the top of the repository
(the folder holding `.git`), and so does `.git/info/exclude`. Patterns are read by `pathspec`,
the gitignore matcher pip, black and others use.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pathspec

Rules = list[tuple[Path, pathspec.GitIgnoreSpec]]  # (folder the patterns are relative to, them)


def walk_files(folder: Path) -> Iterator[Path]:
    """Every file below `folder` that git would not ignore, in sorted order, spelt as `folder`
    was given (the walk itself runs on the absolute path, which the rules are relative to)."""
    absolute = folder.resolve()
    for path in _walk(absolute, _inherited(absolute)):
        yield folder / path.relative_to(absolute)


def _walk(folder: Path, rules: Rules, seen: frozenset[Path] = frozenset()) -> Iterator[Path]:
    real = folder.resolve()
    if real in seen:
        return  # a symlink back up the tree: walked already, and it would never end
    seen = seen | {real}
    rules = rules + _read(folder, folder / ".gitignore")
    try:
        entries = sorted(folder.iterdir())
    except OSError:
        return
    for entry in entries:
        if entry.name == ".git":
            continue
        is_dir = entry.is_dir()
        if _ignored(entry, is_dir, rules):
            continue
        if is_dir:
            yield from _walk(entry, rules, seen)
        elif entry.is_file():
            yield entry


def _ignored(path: Path, is_dir: bool, rules: Rules) -> bool:
    for base, spec in reversed(rules):  # the deepest file that has a say decides
        relative = path.relative_to(base).as_posix() + ("/" if is_dir else "")
        verdict = spec.check_file(relative).include
        if verdict is not None:
            return verdict
    return False


def _inherited(absolute: Path) -> Rules:
    """The rules of the folders above `absolute`, outermost first, up to the repository's top."""
    chain = [absolute, *absolute.parents]
    top = next((p for p in chain if (p / ".git").exists()), None)
    if top is None:
        return []
    rules = _read(top, top / ".git" / "info" / "exclude")
    for parent in reversed(chain[1 : chain.index(top) + 1]):
        rules += _read(parent, parent / ".gitignore")
    return rules


def _read(base: Path, file: Path) -> Rules:
    try:
        lines = file.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
    return [(base, pathspec.GitIgnoreSpec.from_lines(lines))] if lines else []
