"""`govern bundle`: build checked, signed bundles; verify a folder against a trust file; inspect one."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from governance.bundle import jws
from governance.bundle.archive import DEFAULT_LIMITS, unpack
from governance.bundle.build import BuiltBundle, build_bundles
from governance.bundle.errors import BundleRejected
from governance.bundle.manifest import MANIFEST, SIGNATURES, parse_manifest
from governance.bundle.sources import DirectorySource
from governance.bundle.trust import Trust
from governance.bundle.verify import VerifiedBundle, check_set, verify_bundle
from governance.errors import BundleError
from governance.tools.check import CheckOptions, CheckReport, run_check


@dataclass(frozen=True, slots=True)
class BuildOutcome:
    check: CheckReport
    bundles: list[BuiltBundle]

    @property
    def exit_code(self) -> int:
        return self.check.exit_code


def build_checked(
    root: str | Path,
    out: str | Path,
    keys: Mapping[str, Ed25519PrivateKey],
    *,
    layers: Collection[str] | None = None,
    sequence: int | None = None,
    today: dt.date | None = None,
) -> BuildOutcome:
    """Runs `govern check` first; a tree that fails it gets no bundles at all."""
    check = run_check(root, CheckOptions(today=today or dt.datetime.now(dt.UTC).date()))
    if check.exit_code:
        return BuildOutcome(check, [])
    return BuildOutcome(check, build_bundles(root, out, keys, layers=layers, sequence=sequence))


@dataclass(slots=True)
class VerifyOutcome:
    verified: list[VerifiedBundle] = field(default_factory=list)
    errors: list[BundleError] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return 1 if self.errors or not self.verified else 0


def verify_folder(folder: str | Path, trust: Trust) -> VerifyOutcome:
    """Every bundle on its own, then the set (one bundle per layer, a global layer, one schema)."""
    outcome = VerifyOutcome()
    for fetched in DirectorySource(folder).fetch() or []:
        try:
            if fetched.refused is not None:
                raise fetched.refused
            outcome.verified.append(verify_bundle(fetched.data, fetched.name, trust))
        except BundleRejected as exc:
            outcome.errors.append(exc)
    if outcome.verified and not outcome.errors:
        try:
            check_set(outcome.verified, {})
        except BundleRejected as exc:
            outcome.errors.append(exc)
    return outcome


def inspect_bundle(path: str | Path) -> dict[str, Any]:
    """What a bundle says about itself; nothing here is verified (use `verify` for that)."""
    path = Path(path)
    entries = unpack(path.read_bytes(), path.name, DEFAULT_LIMITS)
    if MANIFEST not in entries:
        raise BundleError(f"bundle `{path.name}` has no {MANIFEST}")
    manifest = parse_manifest(entries[MANIFEST], path.name).to_dict()
    signature: dict[str, Any] | None = None
    if SIGNATURES in entries:
        try:
            tokens = orjson.loads(entries[SIGNATURES])["signatures"]
            token = jws.parse(tokens[0])
            signature = {"header": token.header, "scope": token.payload.get("scope")}
        except (orjson.JSONDecodeError, KeyError, IndexError, TypeError, jws.JwsError) as exc:
            signature = {"unreadable": str(exc)}
    sizes = {name: len(content) for name, content in sorted(entries.items())}
    return {"bundle": path.name, "manifest": manifest, "signature": signature, "sizes": sizes}
