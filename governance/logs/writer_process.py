"""A decision log's writer in its own process, so formatting, masking, hashing and writing never hold the deciding process's GIL.

The deciding process starts `python -c "...writer_process import main; main()"` (a fresh
interpreter: nothing of the caller's program is imported or run again) and talks to it through its standard
input and output in length-prefixed frames. It sends its import path, then the sink, labels,
decision-id prefix and masker (pickled), then batches of packed decisions (`marshal`, one frame
per batch); an empty frame closes the log. The writer process formats, masks, chains and
writes each batch with the same `RecordWriter` a writer thread uses, and reports its counts
after every batch; on close it closes the sink (sealing the file) and sends the sink's final
state back, so the caller's sink object ends as if it had written everything itself.

The writer runs in its own session (Ctrl-C at a terminal reaches only the deciding process,
which decides when the log closes); on SIGTERM, or when the deciding process goes away, it
writes what has arrived, seals, and exits. If it dies first, the handle says so and counts every
record it had been sent and not written as lost.
"""

from __future__ import annotations

import contextlib
import gc
import marshal
import os
import pickle
import select
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from governance.logs.encode import Packed
from governance.logs.interface import Sink
from governance.logs.mask import Masker
from governance.logs.writer import RecordWriter

_HEADER = 8  # bytes of frame length, little-endian
_POLL = 0.2  # seconds between looks at the stop flag while the pipe is quiet
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])  # where `governance` imports from


class WriterDied(RuntimeError):
    """The writer process exited before it was closed; what it had not written is lost."""


class WriterProcess:
    """The deciding process's handle on its writer process. `write` and `close` come from one
    thread (the log's forwarder); `poll` from any."""

    def __init__(
        self, sink: Sink, *, labels: Mapping[str, str] | None, boot: str, masker: Masker | None
    ) -> None:
        config = pickle.dumps((sink, dict(labels or {}), boot, masker))  # raises if it cannot move
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, (_PACKAGE_ROOT, env.get("PYTHONPATH"))))
        self._process = subprocess.Popen(
            [sys.executable, "-c", "from governance.logs.writer_process import main; main()"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0, env=env,
            start_new_session=True,
        )  # fmt: skip
        assert self._process.stdin is not None and self._process.stdout is not None
        self._out, self._in = self._process.stdin.fileno(), self._process.stdout.fileno()
        _widen(self._out)
        self._sink = sink
        self._reading = threading.Lock()
        self.sent = 0
        self.accounted = self.written = self.mask_failures = self.sink_failures = 0
        self.lost = 0  # sent, or meant to be, and never written because the writer died
        self.failure: WriterDied | None = None
        self.last_error: BaseException | None = None
        self._closed_state = False
        self._finished = False  # closed: the pipes are gone
        try:
            _send(self._out, marshal.dumps([p for p in sys.path if isinstance(p, str)]))
            _send(self._out, config)
        except OSError:
            self._died()

    @property
    def pid(self) -> int:
        return self._process.pid

    @property
    def settled(self) -> bool:
        """Everything sent has been written (or counted), or the writer is gone."""
        return self.failure is not None or self.accounted >= self.sent

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
            _send(self._out, message)
        except OSError:
            self.lost += len(batch)
            self._died()
            return
        self.sent += len(batch)

    def poll(self) -> None:
        """Take the writer's reports; notice if it died."""
        with self._reading:
            if self._finished:
                return
            while self.failure is None and _readable(self._in, 0):
                if not self._read_report():
                    break
            if self.failure is None and self._process.poll() is not None:
                self._read_reports()
                self._died()

    def wait_settled(self) -> None:
        """Block until the writer has reported on everything sent (or has died)."""
        while True:
            with self._reading:
                if self._finished or self.settled:
                    return
                if _readable(self._in, 0.05):
                    self._read_report()
            self.poll()

    def close(self) -> None:
        if self.failure is None:
            with contextlib.suppress(OSError):
                _send(self._out, b"")
            with self._reading:
                self._read_reports()  # until the writer closes its end
            if not self._closed_state or self._process.wait() != 0:
                self._died()
        self._process.wait()
        with self._reading:
            self._finished = True
        for stream in (self._process.stdin, self._process.stdout):
            if stream is not None:
                stream.close()

    def _read_reports(self) -> None:
        while self._read_report():
            pass

    def _read_report(self) -> bool:
        try:
            frame = _receive(self._in)
        except OSError:
            return False
        if frame is None:
            return False
        kind, *values = pickle.loads(frame)
        if kind == "counts":
            self.accounted, self.written, self.mask_failures, self.sink_failures = values
        elif kind == "error":
            self.last_error = RuntimeError(values[0])
        elif kind == "closed":
            self._closed_state = True
            if values[0] is not None and hasattr(self._sink, "__dict__"):
                vars(self._sink).update(vars(values[0]))  # files written, uploads made, ...
        return True

    def _died(self) -> None:
        try:
            code: int | None = self._process.wait(1.0)
        except subprocess.TimeoutExpired:
            code = None
        self.lost += max(0, self.sent - self.accounted)
        self.failure = WriterDied(
            f"the decision-log writer process exited (code {code}) before the log was closed"
        )
        self.last_error = self.failure


def _widen(fd: int) -> None:
    """A 1 MiB pipe (Linux) takes a batch in one write instead of sixteen."""
    try:
        import fcntl

        fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), 1 << 20)
    except (ImportError, OSError):
        pass


def _send(fd: int, payload: bytes) -> None:
    """The length, then the payload as it is (no copy of a batch to prepend eight bytes)."""
    for part in (len(payload).to_bytes(_HEADER, "little"), payload):
        view = memoryview(part)
        while view:
            view = view[os.write(fd, view) :]


def _receive(fd: int) -> bytes | None:
    """One frame, or None at the end of the stream."""
    header = _exactly(fd, _HEADER)
    if header is None:
        return None
    size = int.from_bytes(header, "little")
    return _exactly(fd, size) if size else b""


def _exactly(fd: int, size: int) -> bytes | None:
    chunks, wanted = [], size
    while wanted:
        chunk = os.read(fd, min(wanted, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        wanted -= len(chunk)
    return b"".join(chunks)


def _readable(fd: int, timeout: float) -> bool:
    """Whether a read would not block (poll, not select: a busy server's descriptors pass 1024)."""
    if not hasattr(select, "poll"):
        return bool(select.select([fd], [], [], timeout)[0])
    watch = select.poll()
    watch.register(fd, select.POLLIN)
    return bool(watch.poll(timeout * 1000))


def serve(batches: int, reports: int) -> None:
    """The writer process's main loop: frames in on `batches`, reports out on `reports`."""
    stopping: list[int] = []
    signal.signal(signal.SIGTERM, lambda number, frame: stopping.append(number))
    path = _receive(batches)
    config = _receive(batches)
    if path is None or config is None:
        return
    sys.path[:0] = [p for p in marshal.loads(path) if p not in sys.path]
    sink, labels, boot, masker = pickle.loads(config)
    writer = RecordWriter(sink, labels=labels, boot=boot, masker=masker)
    gc.freeze()  # what the imports made lives as long as the process: full collections skip it
    reported: BaseException | None = None

    def report(*values: Any) -> None:
        _send(reports, pickle.dumps(values))

    try:
        while True:
            if not _readable(batches, 0 if stopping else _POLL):
                if stopping:
                    break
                continue
            message = _receive(batches)
            if not message:  # the end of the log, or the deciding process is gone
                break
            writer.write(marshal.loads(message))
            report("counts", writer.accounted, writer.written, writer.mask_failures,
                   writer.sink_failures)  # fmt: skip
            if writer.last_error is not None and writer.last_error is not reported:
                reported = writer.last_error
                report("error", f"{type(reported).__name__}: {reported}")
    finally:
        sink.close()
        try:
            report("closed", sink)
        except (pickle.PicklingError, TypeError, AttributeError):  # its state stays here
            report("closed", None)


def main() -> None:
    reports = os.dup(1)
    os.dup2(2, 1)  # anything printed by accident goes to stderr, never into the reports
    serve(0, reports)
