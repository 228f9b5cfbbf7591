"""A decision log's writer in its own process, so formatting, masking, hashing and writing never hold the deciding process's GIL.

The deciding process sends batches of packed decisions (`marshal`, one message per batch) down
a pipe; the writer process formats, masks, chains and writes them with the same `RecordWriter`
a writer thread uses, and publishes its counts in shared memory after every batch. An empty
message closes it: it closes the sink (sealing the file) and sends the sink's final state
back, so the caller's sink object ends as if it had written everything itself.

The writer ignores Ctrl-C (the deciding process decides when the log closes); on SIGTERM, or
when the deciding process goes away, it writes what has arrived, seals, and exits. If it dies,
the handle says so and counts every record it had been sent and not written as lost.
"""

from __future__ import annotations

import contextlib
import marshal
import multiprocessing
import pickle
import signal
from collections.abc import Mapping
from multiprocessing.connection import Connection
from typing import Any

from governance.logs.encode import Packed
from governance.logs.interface import Sink
from governance.logs.mask import Masker
from governance.logs.writer import RecordWriter

_ACCOUNTED, _WRITTEN, _MASK_FAILURES, _SINK_FAILURES = range(4)
_POLL = 0.2  # seconds between looks at the stop flag while the pipe is quiet


class WriterDied(RuntimeError):
    """The writer process exited before it was closed; what it had not written is lost."""


class WriterProcess:
    """The deciding process's handle on its writer process (used from one thread)."""

    def __init__(
        self, sink: Sink, *, labels: Mapping[str, str] | None, boot: str, masker: Masker | None
    ) -> None:
        config = pickle.dumps((sink, dict(labels or {}), boot, masker))  # raises if it cannot move
        context = multiprocessing.get_context("spawn")  # fork would copy the caller's threads
        self._counts = context.Array("q", 4, lock=False)
        batches_in, self._batches = context.Pipe(duplex=False)
        self._reports, reports_out = context.Pipe(duplex=False)
        self._sink = sink
        self._process = context.Process(
            target=serve, args=(batches_in, reports_out, config, self._counts),
            name="govern-decision-log-writer", daemon=True,
        )  # fmt: skip
        self._process.start()
        batches_in.close()
        reports_out.close()
        self.sent = 0
        self.lost = 0  # sent, or meant to be, and never written because the writer died
        self.failure: WriterDied | None = None
        self.last_error: BaseException | None = None

    @property
    def written(self) -> int:
        return int(self._counts[_WRITTEN])

    @property
    def mask_failures(self) -> int:
        return int(self._counts[_MASK_FAILURES])

    @property
    def sink_failures(self) -> int:
        return int(self._counts[_SINK_FAILURES])

    @property
    def settled(self) -> bool:
        """Everything sent has been written (or counted), or the writer is gone."""
        return self.failure is not None or self._counts[_ACCOUNTED] >= self.sent

    def write(self, batch: list[Packed]) -> None:
        if self.failure is not None:
            self.lost += len(batch)
            return
        try:
            message = marshal.dumps(batch)
        except ValueError:  # a value marshal cannot take: the batch is lost, and counted
            self.lost += len(batch)
            return
        try:
            self._batches.send_bytes(message)
        except OSError:
            self.lost += len(batch)
            self._died()
            return
        self.sent += len(batch)

    def poll(self) -> None:
        """Take the writer's reports; notice if it died."""
        while self.failure is None and self._reports.poll():
            try:
                self._report(self._reports.recv())
            except (EOFError, OSError):
                break
        if self.failure is None and self._process.exitcode is not None:
            self._died()

    def close(self) -> None:
        if self.failure is None:
            with contextlib.suppress(OSError):
                self._batches.send_bytes(b"")
            closed = False
            while True:  # keep reading reports, so a chatty writer never blocks on a full pipe
                if self._reports.poll(0.05):
                    try:
                        closed = self._report(self._reports.recv()) or closed
                    except (EOFError, OSError):
                        break
                elif self._process.exitcode is not None:
                    closed = self._drain_reports() or closed
                    break
            if not closed or self._process.exitcode != 0:
                self._died()
        self._process.join()
        self._batches.close()
        self._reports.close()

    def _drain_reports(self) -> bool:
        closed = False
        try:
            while self._reports.poll():
                closed = self._report(self._reports.recv()) or closed
        except (EOFError, OSError):
            pass
        return closed

    def _report(self, report: tuple[str, Any]) -> bool:
        kind, value = report
        if kind == "error":
            self.last_error = RuntimeError(value)
            return False
        if value is not None and hasattr(self._sink, "__dict__"):
            vars(self._sink).update(vars(value))  # files written, uploads made, ...
        return True

    def _died(self) -> None:
        self._process.join(1.0)
        code = self._process.exitcode
        self.lost += max(0, self.sent - int(self._counts[_ACCOUNTED]))
        self.failure = WriterDied(
            f"the decision-log writer process exited (code {code}) before the log was closed"
        )
        self.last_error = self.failure


def serve(batches: Connection, reports: Connection, config: bytes, counts: Any) -> None:
    """The writer process's main loop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    stopping: list[int] = []
    signal.signal(signal.SIGTERM, lambda number, frame: stopping.append(number))
    sink, labels, boot, masker = pickle.loads(config)
    writer = RecordWriter(sink, labels=labels, boot=boot, masker=masker)
    reported: BaseException | None = None
    try:
        while True:
            if not batches.poll(0 if stopping else _POLL):
                if stopping:
                    break
                continue
            try:
                message = batches.recv_bytes()
            except (EOFError, OSError):  # the deciding process is gone
                break
            if not message:
                break
            writer.write(marshal.loads(message))
            counts[_WRITTEN], counts[_MASK_FAILURES] = writer.written, writer.mask_failures
            counts[_SINK_FAILURES] = writer.sink_failures
            counts[_ACCOUNTED] = writer.accounted
            if writer.last_error is not None and writer.last_error is not reported:
                reported = writer.last_error
                reports.send(("error", f"{type(reported).__name__}: {reported}"))
    finally:
        sink.close()
        try:
            reports.send(("closed", sink))
        except (pickle.PicklingError, TypeError, AttributeError):  # its state stays here
            reports.send(("closed", None))
