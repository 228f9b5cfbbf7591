"""The lines and records of one decision-log file (plain or gzip), every skipped line counted."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from governance.audit.skips import Skips
from governance.logs.chain import is_marker


def read_lines(path: Path) -> Iterator[bytes]:
    """Every line of the file as written, decompressed when it is a gzip stream."""
    with path.open("rb") as raw:
        magic = raw.read(2)
        raw.seek(0)
        stream = gzip.GzipFile(fileobj=raw) if magic == b"\x1f\x8b" else raw
        yield from stream


def unreadable(exc: BaseException) -> str:
    """Why a file could not be read on, in words (a cut gzip stream is a crash mid-write)."""
    if isinstance(exc, EOFError):
        return "gzip stream cut short (crash mid-write?)"
    if isinstance(exc, gzip.BadGzipFile):
        return f"not a gzip stream ({exc})"
    return f"unreadable ({exc})"


def complete_lines(
    path: Path, skips: Skips, label: str | None = None
) -> Iterator[tuple[int, bytes]]:
    """Each complete line with its number. A truncated last line, the unreadable rest of a file
    and an empty file are counted in `skips` as `label:line: why` (label: the file's name)."""
    label = path.name if label is None else label
    number = 0
    try:
        for number, raw in enumerate(read_lines(path), start=1):
            if raw.endswith(b"\n"):
                yield number, raw
            else:
                skips.add(f"{label}:{number}: truncated last line")
    except (OSError, EOFError) as exc:
        skips.add(f"{label}:{number + 1}: {unreadable(exc)}")
    if number == 0:
        skips.add(f"{label}:1: empty file")


def json_records(
    path: Path, skips: Skips, label: str | None = None
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Each JSON object of the file but the chain's markers (header, rotation, trailer), with
    its line number; lines that are no JSON object are counted in `skips` as above."""
    label = path.name if label is None else label
    for number, raw in complete_lines(path, skips, label):
        try:
            record = orjson.loads(raw)
        except orjson.JSONDecodeError:
            skips.add(f"{label}:{number}: not a JSON line")
            continue
        if not isinstance(record, dict):
            skips.add(f"{label}:{number}: not a JSON object")
        elif not is_marker(record):
            yield number, record
