"""Decision logs: OPA-shaped records of every decision, written off the hot path by sinks."""

from governance.logs.background import BackgroundLog, LogStats, QueueFull
from governance.logs.chain import FileHeader, FileTrailer, line_hash, signing_payload
from governance.logs.console import ConsoleSink
from governance.logs.encode import RecordEncoder
from governance.logs.file_sink import FileSink
from governance.logs.http_sink import HttpSink, UploadError
from governance.logs.interface import NO_LOG, DecisionLog, NoDecisionLog, Sink
from governance.logs.mask import Masker, MaskError, pseudonym
from governance.logs.record import RecordBuilder, reason_code
from governance.logs.sampling import Sampling
from governance.logs.writer_process import WriterDied

__all__ = [
    "NO_LOG",
    "BackgroundLog",
    "ConsoleSink",
    "DecisionLog",
    "FileHeader",
    "FileSink",
    "FileTrailer",
    "HttpSink",
    "LogStats",
    "MaskError",
    "Masker",
    "NoDecisionLog",
    "QueueFull",
    "RecordBuilder",
    "RecordEncoder",
    "Sampling",
    "Sink",
    "UploadError",
    "WriterDied",
    "line_hash",
    "pseudonym",
    "reason_code",
    "signing_payload",
]
