"""Principals seen in decision logs, for subject search: streamed, deduplicated, most recent kept.

A decision record's `input.subject` is the subject as a caller sent it. Only records the
policies decided are used (a refused request's input may be anything), and only subjects whose
fields the log's privacy settings left alone: an erased attribute or a pseudonymised id is not
the principal, and deciding for it would answer about someone else.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from governance.audit.lines import json_records
from governance.audit.skips import Skips
from governance.errors import GovernanceError
from governance.server.limits import MAX_SUBJECTS

LOG_SUFFIXES = (".jsonl", ".jsonl.gz")
SUBJECT_POINTER = "/input/subject"


class SubjectLogError(GovernanceError):
    """A --subjects-from path that does not exist or holds no log file."""


@dataclass(slots=True)
class LoggedSubjects:
    """The distinct subjects of the logs by (type, id), each as last seen, and what was skipped."""

    principals: dict[str, dict[str, Any]] = field(default_factory=dict)
    records: int = 0
    skips: Skips = field(default_factory=Skips)
    limited: bool = False  # more distinct subjects than the limit: the least recent were left out


def log_files(paths: Iterable[str | Path]) -> list[Path]:
    """Files as given; a folder stands for every log file below it, by path (a server with
    several workers writes one folder per worker)."""
    found: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found.extend(sorted(_below(path)))
        elif path.is_file():
            found.append(path)
        else:
            raise SubjectLogError(f"--subjects-from `{path}`: no such file or folder")
    if not found:
        raise SubjectLogError("--subjects-from: no decision log files (*.jsonl, *.jsonl.gz)")
    return found


def _below(folder: Path) -> Iterator[Path]:
    for parent, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            if name.endswith(LOG_SUFFIXES) and not name.startswith("."):
                yield Path(parent, name)


def subjects_from_logs(paths: Iterable[str | Path], limit: int = MAX_SUBJECTS) -> LoggedSubjects:
    """Every distinct subject of the records under `paths`, one line in memory at a time; with
    more than `limit`, the `limit` most recently seen (by record timestamp)."""
    found = LoggedSubjects()
    latest: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}
    for path in log_files(paths):
        for number, record in json_records(path, found.skips, str(path)):
            where = f"{path}:{number}"
            subject, problem = _subject(record)
            if problem is not None:
                found.skips.add(f"{where}: {problem}")
                continue
            if subject is None:
                continue
            found.records += 1
            key = (subject["type"], subject["id"])
            stamp = str(record.get("timestamp", ""))
            seen = latest.get(key)
            if seen is None or stamp >= seen[0]:
                latest[key] = (stamp, subject)
            if len(latest) > 2 * limit:  # prune now and then, not on every new subject
                found.limited |= _keep_newest(latest, limit)
    found.limited |= _keep_newest(latest, limit)
    for (kind, ident), (_, subject) in sorted(latest.items()):
        found.principals[f"{kind}::{ident}"] = subject
    return found


def _keep_newest(latest: dict[tuple[str, str], tuple[str, dict[str, Any]]], limit: int) -> bool:
    """Drop all but the `limit` most recently seen; whether any was dropped. A dropped subject
    comes back only with a newer record, so the result is the same as sorting them all."""
    if len(latest) <= limit:
        return False
    ranked = sorted(latest.items(), key=lambda item: item[1][0], reverse=True)
    latest.clear()
    latest.update(ranked[:limit])
    return True


def _subject(record: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
    """The record's subject; (None, None) for a record that carries none to use (a refusal);
    (None, why) for a line that is no usable decision record."""
    result, request = record.get("result"), record.get("input")
    if not isinstance(result, dict) or not isinstance(request, dict):
        return None, "not a decision record (`input` and `result` must be objects)"
    if result.get("reason_code") is not None:
        return None, None  # refused: the engine did not understand the request
    for pointer in (*_pointers(record, "erased"), *_pointers(record, "masked")):
        if _overlaps(pointer, SUBJECT_POINTER):
            return None, f"the subject was erased or pseudonymised (`{pointer}`)"
    subject = request.get("subject")
    if not isinstance(subject, dict):
        return None, "no `input.subject` object"
    kind, ident = subject.get("type"), subject.get("id")
    properties = subject.get("properties", {})
    if not isinstance(kind, str) or not isinstance(ident, str) or not kind or not ident:
        return None, "`input.subject` needs string `type` and `id`"
    if not isinstance(properties, dict):
        return None, "`input.subject.properties` must be an object"
    return {"type": kind, "id": ident, "properties": properties}, None


def _overlaps(pointer: str, target: str) -> bool:
    """Whether a JSON pointer names `target`, a part of it, or something holding it."""
    return pointer == target or pointer.startswith(target + "/") or target.startswith(pointer + "/")


def _pointers(record: dict[str, Any], name: str) -> list[str]:
    found = record.get(name, [])
    return [p for p in found if isinstance(p, str)] if isinstance(found, list) else []
