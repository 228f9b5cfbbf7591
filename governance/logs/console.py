"""A sink that prints each record as one JSON line to a stream (stderr by default), as OPA's console logger does."""

from __future__ import annotations

import sys
from typing import IO, Any

import orjson


class ConsoleSink:
    def __init__(self, stream: IO[str] | None = None) -> None:
        self._stream = stream

    def write(self, records: list[dict[str, Any]]) -> None:
        stream = self._stream or sys.stderr
        stream.write("".join(orjson.dumps(r).decode() + "\n" for r in records))
        stream.flush()

    def write_encoded(self, bodies: list[bytes]) -> None:
        """Records encoded by the log's formatter, each short of its closing brace."""
        stream = self._stream or sys.stderr
        stream.write("".join(body.decode() + "}\n" for body in bodies))
        stream.flush()

    def close(self) -> None:
        (self._stream or sys.stderr).flush()
