"""The decision log the engine feeds: the caller appends to a queue, one writer thread does the rest.

The caller's cost is a length check and a deque append. The writer drains the queue in
batches, applies sampling, builds and masks records, and hands them to the sink. A full queue
blocks the caller or drops the decision, by configuration; every drop is counted, and so is
every record withheld because masking failed. `close()` drains the queue, then closes the sink.
"""

from __future__ import annotations

import itertools
import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from governance.decision import Decision
from governance.logs.encode import RecordEncoder
from governance.logs.http_sink import UploadError
from governance.logs.interface import Sink
from governance.logs.mask import Masker, MaskError
from governance.logs.record import RecordBuilder
from governance.logs.sampling import Sampling

WhenFull = Literal["block", "drop"]
_Pending = tuple[Decision, int | None, str]


class QueueFull(RuntimeError):
    """Raised by `log` on a closed log; drops on a full queue are counted, never raised."""


@dataclass(frozen=True, slots=True)
class LogStats:
    enqueued: int  # accepted into the queue
    written: int
    sampled_out: int
    dropped_full: int
    dropped_closed: int
    mask_failures: int
    sink_failures: int

    @property
    def lost(self) -> int:
        """Decisions that should have been logged and were not."""
        return self.dropped_full + self.dropped_closed + self.mask_failures + self.sink_failures


class BackgroundLog:
    def __init__(
        self,
        sink: Sink,
        *,
        labels: Mapping[str, str] | None = None,
        masker: Masker | None = None,
        sampling: Sampling | None = None,
        capacity: int = 65_536,
        when_full: WhenFull = "block",
        batch_size: int = 2048,
        flush_interval: float = 0.05,
    ) -> None:
        if capacity < 1 or batch_size < 1:
            raise ValueError("capacity and batch_size must be positive")
        self._sink = sink
        self._builder = RecordBuilder(labels)
        # Without masking, a sink that takes encoded records gets bytes: no dict per record.
        encoded = (
            getattr(sink, "write_encoded", None) if masker is None or not masker.active else None
        )
        self._write_encoded = encoded
        self._encoder = RecordEncoder(labels)
        self._masker = masker if masker is not None and masker.active else None
        self._sampling = None if sampling is None or sampling.keeps_everything else sampling
        self._capacity, self._batch_size, self._interval = capacity, batch_size, flush_interval
        self._drop = when_full == "drop"
        self._pending: deque[_Pending] = deque()
        self._wake = threading.Event()
        self._drained = threading.Event()
        self._closed = False
        self._dropped_full = itertools.count()  # next() is atomic: callers race on it
        self._dropped_closed = itertools.count()
        self._received = 0
        self._written = self._sampled_out = self._mask_failures = self._sink_failures = 0
        self.last_sink_error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="govern-decision-log", daemon=True)
        self._thread.start()

    def log(self, decision: Decision, req_id: int | None = None, requested_by: str = "") -> None:
        pending = self._pending
        if self._closed:
            next(self._dropped_closed)
            return
        if len(pending) >= self._capacity and not self._make_room():
            return
        pending.append((decision, req_id, requested_by))
        if len(pending) == self._batch_size:
            self._wake.set()

    def _make_room(self) -> bool:
        if self._drop:
            next(self._dropped_full)
            return False
        while len(self._pending) >= self._capacity and not self._closed:
            self._drained.clear()
            self._wake.set()
            self._drained.wait(0.05)
        return True

    def stats(self) -> LogStats:
        return LogStats(
            self._received + len(self._pending),
            self._written, self._sampled_out, _peek(self._dropped_full),
            _peek(self._dropped_closed), self._mask_failures, self._sink_failures,
        )  # fmt: skip

    def flush(self) -> None:
        """Wait until everything enqueued so far is with the sink."""
        while self._pending and self._thread.is_alive():
            self._drained.clear()
            self._wake.set()
            self._drained.wait(0.05)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._wake.set()
        self._thread.join()
        self._sink.close()

    def __enter__(self) -> BackgroundLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self) -> None:
        while True:
            self._wake.wait(self._interval)
            self._wake.clear()
            while self._pending:
                self._write_batch()
            self._drained.set()
            if self._closed and not self._pending:
                return

    def _write_batch(self) -> None:
        pending, batch = self._pending, []
        for _ in range(min(self._batch_size, len(pending))):
            batch.append(pending.popleft())
        records: list[Any] = self._encoded(batch) if self._write_encoded else self._records(batch)
        if not records:
            return
        try:
            if self._write_encoded is not None:
                self._write_encoded(records)
            else:
                self._sink.write(records)
            self._written += len(records)
        except UploadError as exc:  # part of the batch went through
            self._written += len(records) - exc.lost
            self._sink_failures += exc.lost
            self.last_sink_error = exc
        except Exception as exc:  # a failing sink must not kill the writer; counted, kept
            self._sink_failures += len(records)
            self.last_sink_error = exc

    def _encoded(self, batch: list[_Pending]) -> list[bytes]:
        self._received += len(batch)
        encode, sampling = self._encoder.encode, self._sampling
        if sampling is None:
            return [encode(decision, req_id, by) for decision, req_id, by in batch]
        kept = [item for item in batch if sampling.keeps(item[0])]
        self._sampled_out += len(batch) - len(kept)
        return [encode(decision, req_id, by) for decision, req_id, by in kept]

    def _records(self, batch: list[_Pending]) -> list[dict[str, Any]]:
        self._received += len(batch)
        build, sampling, masker = self._builder.build, self._sampling, self._masker
        records = []
        for decision, req_id, requested_by in batch:
            if sampling is not None and not sampling.keeps(decision):
                self._sampled_out += 1
                continue
            record = build(decision, req_id, requested_by)
            if masker is not None:
                try:
                    record = masker.apply(record)
                except (MaskError, RecursionError):
                    self._mask_failures += 1
                    continue
            records.append(record)
        return records


def _peek(counter: itertools.count[int]) -> int:
    """The count so far, read from the counter's repr (reading never advances it)."""
    return int(repr(counter)[6:-1])
