"""Verify decision-log files: every line's hash link, every file's seal and cross-file links.

Streams line by line; reports the first broken line of each file as file:line.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from governance.audit.lines import read_lines, unreadable
from governance.logs.chain import FileHeader, FileTrailer, line_hash


@dataclass(frozen=True, slots=True)
class Break:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


@dataclass(slots=True)
class VerifyResult:
    files: int = 0
    records: int = 0
    breaks: list[Break] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.breaks


def log_files(paths: Iterable[str | Path]) -> list[Path]:
    """Files as given; a directory stands for its `*.jsonl` and `*.jsonl.gz` files, by name."""
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            files.extend(
                sorted(p for p in path.iterdir() if p.name.endswith((".jsonl", ".jsonl.gz")))
            )
        else:
            files.append(path)
    return files


def record_problem(record: dict[str, Any]) -> str | None:
    """What makes a line that is not a header or seal no decision record, or None."""
    missing = [k for k in ("decision_id", "timestamp", "input", "result") if k not in record]
    if missing:
        return f"not a decision record (no `{'`, `'.join(missing)}`)"
    if not isinstance(record["input"], dict) or not isinstance(record["result"], dict):
        return "not a decision record (`input` and `result` must be objects)"
    if not isinstance(record["result"].get("allowed"), bool):
        return "not a decision record (`result.allowed` must be true or false)"
    revisions = record.get("revisions")
    if not isinstance(revisions, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and v for k, v in revisions.items()
    ):
        return "unknown revision: the record does not say which policy revisions decided it"
    if not revisions and record["result"].get("reason_code") is None:
        return "unknown revision: a decision by policies that names no policy revision"
    return None


def verify_logs(
    paths: Iterable[str | Path],
    *,
    public_key: Ed25519PublicKey | None = None,
    partial: bool = False,
) -> VerifyResult:
    """`partial` accepts a first file whose chain starts in a file not given (a rotated file alone)."""
    result = VerifyResult()
    previous_trailer_hash: str | None = None
    for index, path in enumerate(log_files(paths)):
        result.files += 1
        problem, trailer_hash = _verify_file(path, result, public_key)
        if problem is not None:
            result.breaks.append(problem)
            previous_trailer_hash = None
            continue
        _check_link(path, index, previous_trailer_hash, partial, result)
        previous_trailer_hash = trailer_hash
    return result


def _check_link(
    path: Path, index: int, previous: str | None, partial: bool, result: VerifyResult
) -> None:
    header = _header(path)
    if header is None or header.prev_hash is None:
        return
    if index == 0 and not partial:
        result.breaks.append(
            Break(
                path.name,
                1,
                f"chain starts mid-way: previous file `{header.prev_file}` not given (use --partial to accept)",
            )
        )
    elif index > 0 and previous is not None and header.prev_hash != previous:
        result.breaks.append(
            Break(
                path.name, 1, f"does not link to the file before it (expected `{header.prev_file}`)"
            )
        )


def _header(path: Path) -> FileHeader | None:
    for line in read_lines(path):
        try:
            return FileHeader.from_record(orjson.loads(line))
        except orjson.JSONDecodeError:
            return None
    return None


def _verify_file(
    path: Path, result: VerifyResult, key: Ed25519PublicKey | None
) -> tuple[Break | None, str | None]:
    name, running, number, records, trailer = path.name, None, 0, 0, None
    try:
        for number, raw in enumerate(read_lines(path), start=1):
            if trailer is not None:
                return Break(name, number, "data after the end-of-file marker"), None
            if not raw.endswith(b"\n"):
                return Break(name, number, "truncated last line (crash mid-write?)"), None
            line = raw[:-1]
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError:
                return Break(name, number, "not a JSON line"), None
            if not isinstance(record, dict):
                return Break(name, number, "not a JSON object"), None
            if number == 1:
                if FileHeader.from_record(record) is None:
                    return Break(
                        name, 1, "no log header: not a govern decision log, or its start is missing"
                    ), None
            elif record.get("prev_hash") != running:
                return Break(
                    name,
                    number,
                    "hash chain broken: a line was changed, removed, inserted or reordered before this one",
                ), None
            else:
                trailer = FileTrailer.from_record(record)
                if trailer is None:
                    problem = record_problem(record)
                    if problem is not None:
                        return Break(name, number, problem), None
                    records += 1
            running = line_hash(line)
    except (OSError, EOFError) as exc:
        return Break(name, number + 1, unreadable(exc)), None
    if number == 0:
        return Break(name, 1, "empty file"), None
    if trailer is None:
        return Break(name, number, "file not sealed: truncated, or still being written"), None
    if trailer.records != records:
        return Break(
            name, number, f"seal counts {trailer.records} records, file has {records}"
        ), None
    if key is not None and not trailer.signature_valid(key):
        return Break(name, number, "signature missing or invalid"), None
    result.records += records
    return None, running
