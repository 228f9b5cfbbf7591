"""Where bundles come from: a watched folder or polled HTTP(S) URLs (ETag / If-None-Match)."""

from __future__ import annotations

import hashlib
import ssl
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from governance.bundle.archive import DEFAULT_LIMITS, Limits
from governance.bundle.errors import (
    ArchiveTooLarge,
    BundleRejected,
    SourceUnavailable,
    UnsafeEntry,
)

SUFFIX = ".tar.gz"


@dataclass(frozen=True, slots=True)
class Fetched:
    name: str  # the file name or URL, used in every error about this bundle
    data: bytes
    refused: BundleRejected | None = None  # refused before reading (too large, a symlink)


class BundleSource(Protocol):
    """`fetch` returns every current bundle when anything changed since the last call, None
    when nothing did, and raises SourceUnavailable when the source cannot be read."""

    def fetch(self) -> list[Fetched] | None: ...

    def describe(self) -> str: ...


class DirectorySource:
    """Every `*.tar.gz` in one folder; a change is any file added, removed or rewritten."""

    def __init__(self, folder: str | Path, limits: Limits = DEFAULT_LIMITS) -> None:
        self.folder = Path(folder)
        self.limits = limits
        self._seen: dict[str, str] | None = None

    def describe(self) -> str:
        return str(self.folder)

    def fetch(self) -> list[Fetched] | None:
        if not self.folder.is_dir():
            raise SourceUnavailable(f"bundle folder `{self.folder}` does not exist")
        bundles = [self._read(path) for path in sorted(self.folder.glob(f"*{SUFFIX}"))]
        digests = {b.name: hashlib.sha256(b.data).hexdigest() for b in bundles}
        if digests == self._seen:
            return None
        self._seen = digests
        return bundles

    def _read(self, path: Path) -> Fetched:
        try:
            if path.is_symlink() or not path.is_file():
                return Fetched(path.name, b"", UnsafeEntry(path.name, "not a regular file"))
            size, limit = path.stat().st_size, self.limits.max_archive_bytes
            if size > limit:
                return Fetched(
                    path.name, b"", ArchiveTooLarge(path.name, f"{size} bytes > {limit}")
                )
            return Fetched(path.name, path.read_bytes())
        except OSError as exc:
            raise SourceUnavailable(f"cannot read `{path}`: {exc.strerror}") from exc


@dataclass(slots=True)
class _Cached:
    etag: str | None = None
    data: bytes | None = None
    refused: BundleRejected | None = None


class HttpSource:
    """One URL per bundle; a 304 reuses the cached copy, so only changed bundles transfer."""

    def __init__(
        self,
        urls: Sequence[str],
        *,
        timeout: float = 10.0,
        limits: Limits = DEFAULT_LIMITS,
        context: ssl.SSLContext | None = None,
    ) -> None:
        for url in urls:
            if not url.startswith(("https://", "http://")):
                raise ValueError(f"`{url}` is not an http(s) URL")
        self.urls = list(urls)
        self.timeout = timeout
        self.limits = limits
        self.context = context
        self._cache: dict[str, _Cached] = {url: _Cached() for url in urls}
        self.requests = 0
        self.not_modified = 0

    def describe(self) -> str:
        return ", ".join(self.urls)

    def fetch(self) -> list[Fetched] | None:
        changed = [self._get(url) for url in self.urls]
        if not any(changed):
            return None
        return [Fetched(url, c.data or b"", c.refused) for url, c in self._cache.items()]

    def _get(self, url: str) -> bool:
        """Whether `url` served new bytes; raises SourceUnavailable when it serves nothing."""
        cached = self._cache[url]
        request = urllib.request.Request(url, headers={"Accept": "application/gzip"})
        if cached.etag and cached.data is not None:
            request.add_header("If-None-Match", cached.etag)
        self.requests += 1
        try:
            with urllib.request.urlopen(request, timeout=self.timeout, context=self.context) as r:
                data, refused = self._read_bounded(r, url)
                etag = r.headers.get("ETag")
        except urllib.error.HTTPError as exc:
            if exc.code == 304 and cached.data is not None:
                self.not_modified += 1
                return False
            raise SourceUnavailable(f"`{url}`: HTTP {exc.code}") from exc
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            raise SourceUnavailable(f"`{url}`: {reason}") from exc
        changed = data != cached.data or refused is not None
        cached.etag, cached.data, cached.refused = etag, data, refused
        return changed

    def _read_bounded(self, response: _Readable, url: str) -> tuple[bytes, BundleRejected | None]:
        """Never reads more than the limit, whatever Content-Length claims."""
        limit = self.limits.max_archive_bytes
        declared = response.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > limit:
            return b"", ArchiveTooLarge(url, f"{declared} bytes > {limit}")
        data = response.read(limit + 1)
        if len(data) > limit:
            return b"", ArchiveTooLarge(url, f"more than {limit} bytes")
        return bytes(data), None


class _Readable(Protocol):
    @property
    def headers(self) -> _Headers: ...

    def read(self, amount: int, /) -> bytes: ...


class _Headers(Protocol):
    def get(self, name: str, /) -> str | None: ...


@dataclass(slots=True)
class StaticSource:
    """Bundles held in memory: a real source for tests and for embedding."""

    bundles: list[Fetched] = field(default_factory=list)
    _served: list[Fetched] | None = None

    def describe(self) -> str:
        return "memory"

    def fetch(self) -> list[Fetched] | None:
        if self._served == self.bundles:
            return None
        self._served = list(self.bundles)
        return list(self.bundles)
