"""Who is asking: the connecting user name is the principal; groups and attributes come from a users file."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class UsersFileError(Exception):
    """The users file cannot be read; the gateway does not start."""


@dataclass(frozen=True, slots=True)
class Principal:
    name: str
    groups: tuple[str, ...]
    attributes: Mapping[str, Any] = field(default_factory=dict)


def load_users(path: str | Path) -> dict[str, Principal]:
    """`users: {name: {groups: [...], attr: value}}`, or the `principals:` of a fixtures file
    (each entry's `properties`), so `policies/fixtures.yaml` serves as the demo's users file."""
    try:
        document = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise UsersFileError(f"{path}: {exc}") from exc
    if not isinstance(document, dict):
        raise UsersFileError(f"{path}: expected a mapping with `users` or `principals`")
    entries = document.get("users", document.get("principals"))
    if not isinstance(entries, dict):
        raise UsersFileError(f"{path}: expected a mapping under `users` or `principals`")
    return {str(name): _principal(path, str(name), entry) for name, entry in entries.items()}


def _principal(path: str | Path, name: str, entry: Any) -> Principal:
    properties = entry.get("properties", entry) if isinstance(entry, dict) else None
    if not isinstance(properties, dict):
        raise UsersFileError(f"{path}: user `{name}` must be a mapping")
    groups = properties.get("groups", [])
    if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
        raise UsersFileError(f"{path}: user `{name}`: `groups` must be a list of names")
    attributes = {k: v for k, v in properties.items() if k != "groups"}
    return Principal(name, tuple(groups), attributes)
