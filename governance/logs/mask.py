"""Privacy for records: JSON pointers erased or replaced by a keyed HMAC pseudonym.

Like OPA's decision-log masking, pointers address `/input` or `/result`, and a record lists the
pointers it had erased or masked. A pseudonym is stable for one key and unrelated across keys,
so records stay groupable by principal without revealing it. Masking copies every container on
a pointer's path: the parts of a record shared with other records are never changed.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from typing import Any

import orjson

_ROOTS = ("input", "result")


class MaskError(ValueError):
    """A pointer could not be applied; the record must not be written."""


def pseudonym(key: bytes, value: Any) -> str:
    """HMAC-SHA256 of the value's canonical JSON, shortened: enough to group, useless to invert."""
    canonical = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    return "hmac:" + hmac.new(key, canonical, hashlib.sha256).hexdigest()[:32]


def parse_pointer(pointer: str) -> tuple[str, ...]:
    """RFC 6901: `/input/subject/id` → ("input", "subject", "id"); refuses what OPA refuses."""
    if not pointer.startswith("/"):
        raise ValueError(f"pointer `{pointer}` must start with `/`")
    parts = tuple(p.replace("~1", "/").replace("~0", "~") for p in pointer[1:].split("/"))
    if parts[0] not in _ROOTS or len(parts) < 2:
        raise ValueError(f"pointer `{pointer}` must address a field under /input or /result")
    return parts


class Masker:
    """Applies erase and pseudonymise pointers to a record; raises MaskError when one cannot be
    applied (the caller drops the record and counts it; it is never written unmasked)."""

    def __init__(
        self, erase: Iterable[str] = (), pseudonymise: Iterable[str] = (), key: bytes | None = None
    ) -> None:
        self.erase = [(p, parse_pointer(p)) for p in erase]
        self.pseudonymise = [(p, parse_pointer(p)) for p in pseudonymise]
        if self.pseudonymise and not key:
            raise ValueError("pseudonymising needs an HMAC key")
        self._key = key or b""

    @property
    def active(self) -> bool:
        return bool(self.erase or self.pseudonymise)

    def apply(self, record: dict[str, Any]) -> dict[str, Any]:
        masked = dict(record)
        erased: list[str] = []
        pseudonymised: list[str] = []
        for pointer, parts in self.erase:
            if _change(masked, parts, None):
                erased.append(pointer)
        for pointer, parts in self.pseudonymise:
            if _change(masked, parts, self._key):
                pseudonymised.append(pointer)
        if erased:
            masked["erased"] = erased
        if pseudonymised:
            masked["masked"] = pseudonymised
        return masked


def _change(record: dict[str, Any], parts: tuple[str, ...], key: bytes | None) -> bool:
    """Erase (key None) or pseudonymise the value at `parts`; False when the path is absent."""
    parent: Any = record
    for part in parts[:-1]:
        child = _child(parent, part)
        if child is None:
            return False
        if not isinstance(child, dict | list):
            raise MaskError(f"`{part}` is not an object or array")
        child = dict(child) if isinstance(child, dict) else list(child)
        _set(parent, part, child)
        parent = child
    last = parts[-1]
    if _child(parent, last) is None:
        return False
    if key is None:
        _delete(parent, last)
    else:
        try:
            _set(parent, last, pseudonym(key, _child(parent, last)))
        except TypeError as exc:
            raise MaskError(f"cannot pseudonymise: {exc}") from exc
    return True


def _child(container: Any, part: str) -> Any:
    if isinstance(container, dict):
        return container.get(part)
    if isinstance(container, list):
        if not part.isdigit():
            raise MaskError(f"`{part}` is not an array index")
        index = int(part)
        return container[index] if index < len(container) else None
    raise MaskError(f"cannot descend into `{part}`")


def _set(container: Any, part: str, value: Any) -> None:
    if isinstance(container, dict):
        container[part] = value
    else:
        container[int(part)] = value


def _delete(container: Any, part: str) -> None:
    if isinstance(container, dict):
        del container[part]
    else:
        del container[int(part)]
