"""A JSON-lines file sink: one hash chain across size-rotated files, optional gzip and signature."""

from __future__ import annotations

import gzip
import hashlib
import io
import re
import time
from pathlib import Path
from typing import IO, Any, cast

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from governance.logs.chain import FileHeader, FileTrailer, line_hash
from governance.logs.record import rfc3339

_NUMBERED = re.compile(r"-(\d{6})\.jsonl(\.gz)?$")


class FileSink:
    """Writes records under `directory` as `<prefix>-000001.jsonl` (`.jsonl.gz` with gzip), a new
    file once one passes `max_bytes` of JSON. A sink started where files already exist continues
    their numbering and links its first file to the newest one's last line."""

    def __init__(
        self,
        directory: str | Path,
        *,
        prefix: str = "decisions",
        max_bytes: int = 64 * 1024 * 1024,
        compress: bool = False,
        signing_key: Ed25519PrivateKey | None = None,
    ) -> None:
        if max_bytes < 1024:
            raise ValueError("max_bytes must be at least 1024")
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.prefix, self.max_bytes, self.compress = prefix, max_bytes, compress
        self._key = signing_key
        self.files: list[Path] = []
        self._number, self._prev_file, self._hash = self._continue_from_existing()
        self._file: IO[bytes] | None = None
        self._size = 0
        self._records = 0

    def write(self, records: list[dict[str, Any]]) -> None:
        if self._file is None:
            self._open()
        lines: list[bytes] = []
        for record in records:
            record["prev_hash"] = self._hash
            line = orjson.dumps(record)
            if self._records and self._size + len(line) > self.max_bytes:
                self._write_lines(lines)
                lines = []
                self._rotate()
                record["prev_hash"] = self._hash
                line = orjson.dumps(record)
            self._hash = line_hash(line)
            self._size += len(line) + 1
            self._records += 1
            lines.append(line)
        self._write_lines(lines)

    def write_encoded(self, bodies: list[bytes]) -> None:
        """Records already encoded by RecordEncoder (each lacks its closing `,"prev_hash":...}`),
        chained and written exactly as `write` would write them."""
        if self._file is None:
            self._open()
        lines: list[bytes] = []
        append, sha256, join = lines.append, hashlib.sha256, b"".join
        link = _link(self._hash)  # the previous line's hash as the JSON that names it
        size, records, limit = self._size, self._records, self.max_bytes
        for body in bodies:
            line = join((body, link))
            if records and size + len(line) > limit:
                self._size, self._records = size, records
                self._write_lines(lines)
                lines.clear()
                self._rotate()
                size, records = self._size, self._records
                line = join((body, _link(self._hash)))
            digest = sha256(line).hexdigest()  # `line_hash`, without a call per record
            link = b',"prev_hash":"' + digest.encode() + b'"}'
            self._hash = digest
            size += len(line) + 1
            records += 1
            append(line)
        self._size, self._records = size, records
        self._write_lines(lines)

    def close(self) -> None:
        if self._file is not None:
            self._seal(None)

    def __getstate__(self) -> dict[str, Any]:
        """A sink moves to a writer process before it opens a file (and back once closed)."""
        if self._file is not None:
            raise TypeError("a FileSink with an open file cannot move to another process")
        state = dict(vars(self))
        key = state.pop("_key")
        state["_key"] = None if key is None else key.private_bytes_raw()
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        raw = state["_key"]
        vars(self).update(state)
        self._key = None if raw is None else Ed25519PrivateKey.from_private_bytes(raw)

    def _write_lines(self, lines: list[bytes]) -> None:
        if lines and self._file is not None:
            self._file.write(b"\n".join(lines) + b"\n")
            self._file.flush()

    def _path(self, number: int) -> Path:
        suffix = ".jsonl.gz" if self.compress else ".jsonl"
        return self.directory / f"{self.prefix}-{number:06d}{suffix}"

    def _open(self) -> None:
        self._number += 1
        path = self._path(self._number)
        raw = path.open("xb")  # never overwrite a file of an earlier run
        self._file = (
            cast(IO[bytes], gzip.GzipFile(fileobj=raw, mode="wb")) if self.compress else raw
        )
        self.files.append(path)
        header = FileHeader(path.name, rfc3339(time.time_ns()), self._prev_file, self._hash)
        line = orjson.dumps(header.to_record())
        self._hash, self._size, self._records = line_hash(line), len(line) + 1, 0
        self._write_lines([line])

    def _rotate(self) -> None:
        self._seal(self._path(self._number + 1).name)
        self._open()

    def _seal(self, next_file: str | None) -> None:
        assert self._file is not None
        last = self._hash or ""
        trailer = FileTrailer(self._path(self._number).name, self._records, last, next_file)
        if self._key is not None:
            trailer = trailer.signed(self._key)
        line = orjson.dumps(trailer.to_record())
        self._write_lines([line])
        self._prev_file, self._hash = trailer.file, line_hash(line)
        raw = self._file.fileobj if isinstance(self._file, gzip.GzipFile) else None
        self._file.close()
        if raw is not None:
            raw.close()
        self._file = None

    def _continue_from_existing(self) -> tuple[int, str | None, str | None]:
        numbered = []
        for path in self.directory.glob(f"{self.prefix}-*.jsonl*"):
            match = _NUMBERED.search(path.name)
            if match:
                numbered.append((int(match.group(1)), path))
        if not numbered:
            return 0, None, None
        number, newest = max(numbered)
        return number, newest.name, _last_line_hash(newest)


def _link(previous: str | None) -> bytes:
    """The end of a record that follows the line hashed to `previous`."""
    return (
        b',"prev_hash":null}' if previous is None else b',"prev_hash":"' + previous.encode() + b'"}'
    )


def _last_line_hash(path: Path) -> str | None:
    """The hash of the last complete line: read from the end of a plain file (a restart next to
    a 64 MiB file reads a few KiB), from the start of a gzip one."""
    with path.open("rb") as raw:
        if _is_gzip(raw):
            return _last_gzip_line_hash(cast(IO[bytes], gzip.GzipFile(fileobj=raw)))
        end = raw.seek(0, io.SEEK_END)
        window = 64 * 1024
        while True:
            start = max(0, end - window)
            raw.seek(start)
            tail = raw.read(end - start)
            complete = tail[: tail.rfind(b"\n") + 1]  # a crash mid-write leaves a partial line
            lines = complete.splitlines()
            if len(lines) >= 2 or start == 0:  # the last line is whole once a newline precedes it
                return line_hash(lines[-1]) if lines else None
            window *= 4


def _last_gzip_line_hash(stream: IO[bytes]) -> str | None:
    last = None
    try:
        for line in stream:
            if line.endswith(b"\n"):
                last = line[:-1]
    except (OSError, EOFError):  # a crash mid-write: link to the last complete line
        pass
    return None if last is None else line_hash(last)


def _is_gzip(raw: IO[bytes]) -> bool:
    magic = raw.read(2)
    raw.seek(0, io.SEEK_SET)
    return magic == b"\x1f\x8b"
