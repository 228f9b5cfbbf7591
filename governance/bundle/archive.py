"""The `.tar.gz` container: reproducible to write, bounded and path-safe to read, all in memory."""

from __future__ import annotations

import gzip
import io
import tarfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath

from governance.bundle.errors import (
    ArchiveTooLarge,
    DecompressionBomb,
    MalformedBundle,
    UnsafeEntry,
)

_CHUNK = 64 * 1024


@dataclass(frozen=True, slots=True)
class Limits:
    """What a reader accepts; generous for policy trees, small enough that no input exhausts memory."""

    max_archive_bytes: int = 16 * 1024 * 1024
    max_extracted_bytes: int = 64 * 1024 * 1024
    max_entries: int = 10_000


DEFAULT_LIMITS = Limits()


def pack(files: Mapping[str, bytes]) -> bytes:
    """Sorted entries, fixed owner, mode and mtime, gzip mtime 0: same files, same bytes."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(files):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(files[name]), 0o644, 0
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(files[name]))
    out = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0, compresslevel=9) as gz:
        gz.write(raw.getvalue())
    return out.getvalue()


def unpack(data: bytes, bundle: str, limits: Limits) -> dict[str, bytes]:
    """Every entry by name; refuses oversize archives, bombs, and anything but plain relative files."""
    if len(data) > limits.max_archive_bytes:
        raise ArchiveTooLarge(bundle, f"{len(data)} bytes > {limits.max_archive_bytes}")
    raw = _gunzip(data, bundle, limits.max_extracted_bytes)
    files: dict[str, bytes] = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as tar:
            for member in tar:
                if len(files) >= limits.max_entries:
                    raise MalformedBundle(bundle, f"more than {limits.max_entries} entries")
                name = safe_name(member, bundle)
                if name in files:
                    raise UnsafeEntry(bundle, f"entry `{name}` appears twice")
                extracted = tar.extractfile(member)
                if extracted is None:
                    raise UnsafeEntry(bundle, f"entry `{name}` has no content")
                files[name] = extracted.read()
    except (tarfile.TarError, EOFError, ValueError, UnicodeError, OSError) as exc:
        raise MalformedBundle(bundle, f"not a tar archive ({exc})") from exc
    return files


def _gunzip(data: bytes, bundle: str, limit: int) -> bytes:
    """Decompress in bounded steps: output beyond `limit` stops the work (a decompression bomb)."""
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    out = bytearray()
    try:
        for start in range(0, len(data), _CHUNK):
            pending = data[start : start + _CHUNK]
            while pending and not inflater.eof:
                out += inflater.decompress(pending, _CHUNK)
                pending = inflater.unconsumed_tail
                _bound(out, limit, bundle)
            if inflater.eof:
                if inflater.unused_data or data[start + _CHUNK :]:
                    raise MalformedBundle(bundle, "data after the gzip stream")
                break
        while not inflater.eof and (chunk := inflater.decompress(b"", _CHUNK)):
            out += chunk
            _bound(out, limit, bundle)
    except zlib.error as exc:
        raise MalformedBundle(bundle, f"not gzip data ({exc})") from exc
    if not inflater.eof:
        raise MalformedBundle(bundle, "truncated gzip data")
    return bytes(out)


def _bound(out: bytearray, limit: int, bundle: str) -> None:
    if len(out) > limit:
        raise DecompressionBomb(bundle, f"more than {limit} bytes when decompressed")


def safe_name(member: tarfile.TarInfo, bundle: str) -> str:
    """A plain file at a normalised relative path; links, devices, folders and `..` are refused."""
    name = member.name
    if not member.isreg():
        kind = _kind(member)
        raise UnsafeEntry(bundle, f"entry `{name}` is a {kind}, not a regular file")
    path = PurePosixPath(name)
    if (
        not name
        or "\\" in name
        or "\0" in name
        or path.is_absolute()
        or ":" in path.parts[0]
        or any(part in ("", ".", "..") for part in name.split("/"))
    ):
        raise UnsafeEntry(bundle, f"entry `{name}` escapes the archive")
    return name


def _kind(member: tarfile.TarInfo) -> str:
    if member.issym():
        return "symlink"
    if member.islnk():
        return "hard link"
    if member.ischr() or member.isblk():
        return "device"
    return "directory" if member.isdir() else "special file"
