"""`govern fmt`: Cedar files in Cedar's own layout, never at the cost of a comment or a policy."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from governance.cedar_bridge import format_policies, parse_policies
from governance.compiler.statements import nesting_failure
from governance.tools.gitignore import walk_files
from governance.tree.load import display_path


@dataclass(frozen=True, slots=True)
class Formatted:
    path: Path
    changed: bool
    error: str = ""

    @property
    def display(self) -> str:
        return display_path(self.path)


def cedar_files(paths: Iterable[Path]) -> list[Path]:
    """The given .cedar files, and every .cedar file below the given folders that `.gitignore`
    does not ignore (a vendored copy or a build output is not ours to rewrite), sorted."""
    found: set[Path] = set()
    for path in paths:
        if path.is_dir():
            found.update(p for p in walk_files(path) if p.suffix == ".cedar")
        elif path.suffix == ".cedar":
            found.add(path)
    return sorted(found)


def format_text(text: str) -> str:
    """Cedar's layout for `text`; raises ValueError when the text does not parse, or when
    formatting would drop a comment or change a policy (then the file is left alone)."""
    failure = nesting_failure(text)  # cedarpy's formatter would crash the process (SIGSEGV)
    if failure is not None:
        line, column, message = failure
        raise ValueError(f"not valid Cedar: {line}:{column}: {message}")
    try:
        formatted = format_policies(text)
    except ValueError as exc:
        raise ValueError(f"not valid Cedar: {' '.join(str(exc).split())}") from exc
    if not formatted.endswith("\n"):
        formatted += "\n"
    if _comments(formatted) != _comments(text):
        raise ValueError("the formatter would drop or alter a comment; file left unchanged")
    if parse_policies(formatted) != parse_policies(text):
        raise ValueError("the formatter would change a policy; file left unchanged")
    return formatted


def format_files(paths: Iterable[Path], *, write: bool) -> list[Formatted]:
    """Format every Cedar file under `paths`; with `write`, rewrite the files that change."""
    results = []
    for path in cedar_files(paths):
        try:
            text = path.read_text(encoding="utf-8")
            formatted = format_text(text)
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            results.append(Formatted(path, False, str(exc)))
            continue
        changed = formatted != text
        if changed and write:
            path.write_text(formatted, encoding="utf-8")
        results.append(Formatted(path, changed))
    return results


def _comments(text: str) -> list[str]:
    """Every `//` comment outside string literals, in order, whitespace-normalised."""
    found, i = [], 0
    while i < len(text):
        if text[i] == '"':
            i += 1
            while i < len(text) and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
        elif text.startswith("//", i):
            end = text.find("\n", i)
            end = len(text) if end < 0 else end
            found.append(" ".join(text[i:end].split()))
            i = end
        i += 1
    return found
