"""A sink that uploads records as OPA's decision-log service API expects them.

Each request is `POST <url>` with `Content-Type: application/json`, `Content-Encoding: gzip`
and a gzip-compressed JSON array of events as the body, no larger than `max_chunk_bytes`
compressed (OPA's `upload_size_limit_bytes`, 32 KiB by default), so collectors that accept OPA's
logs accept ours. Connection errors, 429 and 5xx answers are retried with exponential backoff.
"""

from __future__ import annotations

import gzip
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any

import orjson

_RETRYABLE = frozenset({408, 429, 500, 502, 503, 504})


class UploadError(RuntimeError):
    """Some records could not be delivered; `lost` says how many."""

    def __init__(self, message: str, lost: int) -> None:
        super().__init__(message)
        self.lost = lost


class HttpSink:
    def __init__(
        self,
        url: str,
        *,
        max_chunk_bytes: int = 32_768,
        retries: int = 5,
        backoff: float = 0.1,
        max_backoff: float = 5.0,
        timeout: float = 10.0,
        headers: Mapping[str, str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"decision-log service `{url}` must be an http(s) URL")
        if max_chunk_bytes < 256:
            raise ValueError("max_chunk_bytes must be at least 256")
        self.url, self.max_chunk_bytes = url, max_chunk_bytes
        self.retries, self.backoff, self.max_backoff = retries, backoff, max_backoff
        self.timeout, self._sleep = timeout, sleep
        self.headers = dict(headers or {})
        self.uploads = 0  # successful POSTs
        self.oversize = 0  # single records larger than a chunk, which OPA drops too

    def write(self, records: list[dict[str, Any]]) -> None:
        self._upload([orjson.dumps(r) for r in records])

    def write_encoded(self, bodies: list[bytes]) -> None:
        """Records encoded by the log's formatter, each short of its closing brace."""
        self._upload([body + b"}" for body in bodies])

    def _upload(self, encoded: list[bytes]) -> None:
        lost, problem = 0, ""
        for chunk, count in self._chunks(encoded):
            if chunk is None:
                self.oversize += 1
                lost, problem = lost + 1, "a record is larger than the upload size limit"
                continue
            try:
                self._post(chunk)
            except UploadError as exc:
                lost, problem = lost + count, str(exc)
        if lost:
            raise UploadError(problem, lost)

    def close(self) -> None:
        return None

    def _chunks(self, encoded: list[bytes]) -> list[tuple[bytes | None, int]]:
        """Gzip bodies within the limit: fill greedily, split any body that compressed too big."""
        chunks: list[tuple[bytes | None, int]] = []
        group: list[bytes] = []
        size = 0
        budget = self.max_chunk_bytes * 4  # JSON compresses at least this well in practice
        for line in encoded:
            if group and size + len(line) > budget:
                self._fit(group, chunks)
                group, size = [], 0
            group.append(line)
            size += len(line) + 1
        if group:
            self._fit(group, chunks)
        return chunks

    def _fit(self, group: list[bytes], chunks: list[tuple[bytes | None, int]]) -> None:
        body = gzip.compress(b"[" + b",".join(group) + b"]", compresslevel=6)
        if len(body) <= self.max_chunk_bytes:
            chunks.append((body, len(group)))
        elif len(group) == 1:
            chunks.append((None, 1))
        else:
            half = len(group) // 2
            self._fit(group[:half], chunks)
            self._fit(group[half:], chunks)

    def _post(self, body: bytes) -> None:
        headers = {
            "Content-Type": "application/json",
            "Content-Encoding": "gzip",
            **self.headers,
        }
        delay, last = self.backoff, ""
        for attempt in range(self.retries + 1):
            if attempt:
                self._sleep(delay)
                delay = min(delay * 2, self.max_backoff)
            request = urllib.request.Request(self.url, body, headers, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                    answer.read()
                self.uploads += 1
                return
            except urllib.error.HTTPError as exc:
                last = f"HTTP {exc.code} from {self.url}"
                if exc.code not in _RETRYABLE:
                    break
            except (urllib.error.URLError, OSError) as exc:
                last = f"cannot reach {self.url}: {exc}"
        raise UploadError(last, 0)
