"""The bundle verbs: keygen, build, verify, inspect."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from governance.bundle.build import ALL_LAYERS
from governance.bundle.keys import generate, load_private
from governance.bundle.trust import load_trust
from governance.errors import BundleError
from governance.report import render_check_text
from governance.tools.bundles import build_checked, inspect_bundle, verify_folder


@click.group()
def bundle() -> None:
    """Signed per-layer policy bundles (see docs/bundles.md)."""


@bundle.command()
@click.argument("name")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("."))
def keygen(name: str, out: Path) -> None:
    """Write an Ed25519 key pair NAME.key (private, 0600) and NAME.pub into --out."""
    try:
        pair = generate(out, name)
    except BundleError as exc:
        raise click.UsageError(str(exc)) from exc
    click.echo(f"wrote {pair.private_path} and {pair.public_path}\nkey id {pair.key_id}")


def _keys(specs: tuple[str, ...]) -> dict[str, Ed25519PrivateKey]:
    keys = {}
    for spec in specs:
        layer, _, file = spec.rpartition("=")
        try:
            keys[layer or ALL_LAYERS] = load_private(Path(file))
        except BundleError as exc:
            raise click.UsageError(str(exc)) from exc
    return keys


@bundle.command()
@click.argument("path", default="policies", type=click.Path(exists=True, file_okay=False))
@click.option("--out", type=click.Path(file_okay=False), default="bundles", show_default=True)
@click.option(
    "--signing-key",
    "signing_keys",
    multiple=True,
    metavar="[LAYER=]KEY",
    help="Private key file; LAYER=KEY for one layer, KEY alone for every other layer.",
)
@click.option("--layer", "layers", multiple=True, help="Build only these layers (repeatable).")
@click.option("--sequence", type=click.IntRange(min=1), help="Sequence number to stamp.")
@click.option("--today", type=click.DateTime(["%Y-%m-%d"]), help="Date for the checks.")
def build(
    path: str,
    out: str,
    signing_keys: tuple[str, ...],
    layers: tuple[str, ...],
    sequence: int | None,
    today: dt.datetime | None,
) -> None:
    """Check the tree like `govern check`, then write one bundle per layer into --out."""
    try:
        outcome = build_checked(
            path,
            out,
            _keys(signing_keys),
            layers=layers or None,
            sequence=sequence,
            today=today.date() if today else None,
        )
    except BundleError as exc:
        raise click.UsageError(str(exc)) from exc
    if outcome.exit_code:
        click.echo(render_check_text(outcome.check, color=False), nl=False)
        click.echo("refusing to build bundles from a tree that fails its checks", err=True)
        raise SystemExit(1)
    for built in outcome.bundles:
        state = "written" if built.written else "unchanged"
        signer = built.key_id or "UNSIGNED"
        click.echo(
            f"{built.path}  layer {built.layer}  sequence {built.manifest.sequence}  "
            f"revision {built.manifest.revision[:12]}  {signer}  ({state})"
        )


@bundle.command()
@click.argument("folder", type=click.Path(exists=True, file_okay=False))
@click.option("--trust", "trust_file", required=True, type=click.Path(dir_okay=False))
def verify(folder: str, trust_file: str) -> None:
    """Verify every bundle in FOLDER and the set they form against a trust file."""
    try:
        trust = load_trust(trust_file)
    except BundleError as exc:
        raise click.UsageError(str(exc)) from exc
    outcome = verify_folder(folder, trust)
    for verified in outcome.verified:
        m = verified.manifest
        click.echo(
            f"ok  {verified.name}  layer {m.layer}  sequence {m.sequence}  key {verified.key.name}"
        )
    for error in outcome.errors:
        click.echo(f"REFUSED  {error}")
    if not outcome.verified and not outcome.errors:
        click.echo(f"no bundles in {folder}")
    raise SystemExit(outcome.exit_code)


@bundle.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def inspect(file: str) -> None:
    """Print a bundle's manifest and signature header (JSON); verifies nothing."""
    try:
        click.echo(json.dumps(inspect_bundle(file), indent=2))
    except BundleError as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(1) from exc


COMMANDS = [bundle]
