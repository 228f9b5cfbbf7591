"""The decision log the engine feeds: the caller packs and enqueues, a writer process (or thread) does the rest.

The caller's cost is sampling (when configured), `RecordPacker.pack` (the request encoded,
shared parts looked up as bytes) and a deque append. The queue holds flat tuples of scalars,
which the garbage collector stops tracking, so a full queue costs a full collection nothing.
A forwarding thread drains the queue in batches; by default it ships them to a writer process
(`governance/logs/writer_process.py`), which formats, masks, chains and writes them without
holding this process's GIL. With `writer="thread"` (or, by default, a sink that cannot move to
another process) the same thread writes them itself (`governance/logs/writer.py`).

A full queue blocks the caller or drops the decision, by configuration; every drop is counted,
and so is every record withheld because masking failed, and every record lost because the
writer process died (the log then refuses further records, counting them, and reports why).
`close()` drains the queue, then closes the sink.
"""

from __future__ import annotations

import atexit
import itertools
import os
import pickle
import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from governance.decision import Decision
from governance.logs.encode import Packed, RecordPacker, process_boot
from governance.logs.file_sink import FileSink
from governance.logs.http_sink import HttpSink
from governance.logs.interface import Sink
from governance.logs.mask import Masker
from governance.logs.sampling import Sampling
from governance.logs.writer import RecordWriter
from governance.logs.writer_process import WriterProcess

WhenFull = Literal["block", "drop"]
WriterKind = Literal["auto", "process", "thread"]
_MOVABLE = (FileSink, HttpSink)  # sinks "auto" moves to a writer process


class QueueFull(RuntimeError):
    """Raised by `log` on a closed log; drops on a full queue are counted, never raised."""


@dataclass(frozen=True, slots=True)
class LogStats:
    enqueued: int  # accepted (kept or sampled out)
    written: int
    sampled_out: int
    dropped_full: int
    dropped_closed: int
    mask_failures: int
    sink_failures: int
    writer_lost: int = 0  # lost because the writer process died (or a record could not be packed)

    @property
    def lost(self) -> int:
        """Decisions that should have been logged and were not."""
        return (
            self.dropped_full + self.dropped_closed + self.mask_failures + self.sink_failures
            + self.writer_lost
        )  # fmt: skip


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
        writer: WriterKind = "auto",
    ) -> None:
        if capacity < 1 or batch_size < 1:
            raise ValueError("capacity and batch_size must be positive")
        if writer not in ("auto", "process", "thread"):
            raise ValueError(f"writer must be auto, process or thread, got {writer!r}")
        self._sink, self._labels = sink, dict(labels or {})
        self._masker = masker if masker is not None and masker.active else None
        self._sampling = None if sampling is None or sampling.keeps_everything else sampling
        self._capacity, self._batch_size, self._interval = capacity, batch_size, flush_interval
        self._drop = when_full == "drop"
        self._pack = RecordPacker().pack
        self._pending: deque[Packed] = deque()
        self._wake = threading.Event()
        self._drained = threading.Event()
        self._closed = False
        self._flushing = False
        # next() on a count is atomic: callers race on these
        self._accepted, self._sampled_out = itertools.count(), itertools.count()
        self._dropped_full, self._dropped_closed = itertools.count(), itertools.count()
        self._refused, self._unpackable = itertools.count(), itertools.count()
        if writer == "process":
            _movable(sink)  # a clear error here, not a pickling one
        if writer == "process" or (writer == "auto" and _can_move(sink)):
            self._writer: RecordWriter | WriterProcess = WriterProcess(
                sink, labels=self._labels, boot=process_boot(), masker=self._masker
            )
        else:
            self._writer = RecordWriter(
                sink, labels=self._labels, boot=process_boot(), masker=self._masker
            )
        self._thread = threading.Thread(target=self._run, name="govern-decision-log", daemon=True)
        self._thread.start()
        atexit.register(self.close)  # an unclosed log still seals its file at exit

    @property
    def writer(self) -> str:
        """Where records are written: "process" or "thread"."""
        return "process" if isinstance(self._writer, WriterProcess) else "thread"

    @property
    def writer_pid(self) -> int | None:
        """The writer process's id (None with a writer thread): for monitoring it."""
        writer = self._writer
        return writer.pid if isinstance(writer, WriterProcess) else None

    @property
    def last_sink_error(self) -> BaseException | None:
        """The last failure of the sink, or of the writer process (`WriterDied`)."""
        return self._writer.last_error

    def log(self, decision: Decision, req_id: int | None = None, requested_by: str = "") -> None:
        if self._closed:
            next(self._dropped_closed)
            return
        sampling = self._sampling
        if sampling is not None and not sampling.keeps(decision):
            next(self._accepted)
            next(self._sampled_out)
            return
        pending = self._pending
        if len(pending) >= self._capacity and not self._make_room():
            return
        try:
            packed = self._pack(decision, req_id, requested_by)
        except Exception:  # never the caller's problem: counted as lost
            next(self._unpackable)
            return
        next(self._accepted)
        pending.append(packed)
        if len(pending) == self._batch_size:
            self._wake.set()

    def _make_room(self) -> bool:
        if self._drop:
            next(self._dropped_full)
            return False
        while len(self._pending) >= self._capacity and not self._closed:
            if self._failed():
                next(self._refused)
                return False
            self._drained.clear()
            self._wake.set()
            self._drained.wait(0.05)
        if self._closed:  # closed while this caller waited for room
            next(self._dropped_closed)
            return False
        return True

    def _failed(self) -> bool:
        writer = self._writer
        return isinstance(writer, WriterProcess) and writer.failure is not None

    def stats(self) -> LogStats:
        writer = self._writer
        if isinstance(writer, WriterProcess):
            writer.poll()
        written, mask, sink = writer.written, writer.mask_failures, writer.sink_failures
        lost = writer.lost if isinstance(writer, WriterProcess) else 0
        return LogStats(
            _peek(self._accepted), written, _peek(self._sampled_out), _peek(self._dropped_full),
            _peek(self._dropped_closed), mask, sink,
            lost + _peek(self._refused) + _peek(self._unpackable),
        )  # fmt: skip

    def flush(self) -> None:
        """Wait until everything enqueued so far is with the sink."""
        while self._thread.is_alive():
            self._drained.clear()
            self._flushing = True
            self._wake.set()
            if self._drained.wait(0.05) and not self._pending:
                break  # set after a pass that emptied the queue and finished its last write
        self._flushing = False
        if isinstance(self._writer, WriterProcess):
            self._writer.wait_settled()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        atexit.unregister(self.close)
        self._wake.set()
        self._thread.join()
        while self._pending:  # appended by a caller racing this close: counted, not lost silently
            self._pending.popleft()
            next(self._dropped_closed)
        writer = self._writer
        if isinstance(writer, WriterProcess):
            writer.close()
        else:
            self._sink.close()

    def __enter__(self) -> BackgroundLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self) -> None:
        pending, size = self._pending, self._batch_size
        while True:
            woken = self._wake.wait(self._interval)
            self._wake.clear()
            writer = self._writer
            if isinstance(writer, WriterProcess):
                writer.poll()
            # Full batches while traffic flows; the rest once it pauses (or on flush and close):
            # a stream of tiny batches would cost the deciding threads the GIL for nothing.
            drain = not woken or self._closed or self._flushing
            while len(pending) >= size or (drain and pending):
                self._write_batch()
            self._drained.set()
            if self._closed and not pending:
                return

    def _write_batch(self) -> None:
        pending, batch = self._pending, []
        popleft = pending.popleft
        for _ in range(min(self._batch_size, len(pending))):
            batch.append(popleft())
        self._writer.write(batch)


def _can_move(sink: Sink) -> bool:
    """`auto`'s choice: a process for govern's own sinks, when a second core can run it."""
    if type(sink) not in _MOVABLE or available_cores() < 2:
        return False
    try:
        pickle.dumps(sink)
    except Exception:
        return False
    return True


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


def _movable(sink: Sink) -> None:
    try:
        pickle.dumps(sink)
    except Exception as exc:
        raise ValueError(
            f"the {type(sink).__name__} cannot move to a writer process ({exc}); "
            'use writer="thread"'
        ) from exc


def _peek(counter: itertools.count[int]) -> int:
    """The count so far, read from the counter's repr (reading never advances it)."""
    return int(repr(counter)[6:-1])
