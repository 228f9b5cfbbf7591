"""The writer's half of a decision log: packed decisions formatted, masked and handed to a sink, with counts.

Runs on the log's writer thread or inside its writer process; the same code either way, so
both write the same bytes. A record whose masking fails is dropped and counted, never written
unmasked; a sink that fails costs the records it lost (counted), never the writer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import orjson

from governance.logs.encode import Packed, RecordFormatter
from governance.logs.http_sink import UploadError
from governance.logs.interface import Sink
from governance.logs.mask import Masker, MaskError


class RecordWriter:
    def __init__(
        self,
        sink: Sink,
        *,
        labels: Mapping[str, str] | None,
        boot: str,
        masker: Masker | None = None,
    ) -> None:
        self.sink = sink
        self._formatter = RecordFormatter(labels, boot)
        self._masker = masker if masker is not None and masker.active else None
        self._encoded: Callable[[list[bytes]], None] | None = getattr(sink, "write_encoded", None)
        self.written = self.mask_failures = self.sink_failures = 0
        self.last_error: BaseException | None = None

    @property
    def accounted(self) -> int:
        """Records this writer has finished with, whatever became of them."""
        return self.written + self.mask_failures + self.sink_failures

    def write(self, batch: list[Packed]) -> None:
        format_ = self._formatter.format
        bodies = [format_(packed) for packed in batch]
        if self._masker is not None:
            bodies = self._masked(bodies, self._masker)
        if not bodies:
            return
        try:
            if self._encoded is not None:
                self._encoded(bodies)
            else:  # a sink that takes records as dicts
                self.sink.write([orjson.loads(body + b"}") for body in bodies])
            self.written += len(bodies)
        except UploadError as exc:  # part of the batch went through
            self.written += len(bodies) - exc.lost
            self.sink_failures += exc.lost
            self.last_error = exc
        except Exception as exc:  # a failing sink must not kill the writer; counted, kept
            self.sink_failures += len(bodies)
            self.last_error = exc

    def _masked(self, bodies: list[bytes], masker: Masker) -> list[bytes]:
        kept = []
        for body in bodies:
            try:
                record: dict[str, Any] = orjson.loads(body + b"}")
                kept.append(orjson.dumps(masker.apply(record))[:-1])
            except (MaskError, RecursionError, orjson.JSONDecodeError, orjson.JSONEncodeError):
                self.mask_failures += 1
        return kept
