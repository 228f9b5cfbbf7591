"""The tamper matrix: every way to alter a bundle is refused with its own error, and the
engine keeps serving the last good set."""

from __future__ import annotations

import gzip
import io
import tarfile
from pathlib import Path

import pytest

from governance.bundle import errors as E
from governance.bundle.archive import Limits, pack, unpack
from governance.bundle.build import build_bundles
from governance.bundle.verify import verify_bundle
from governance.engine import Engine

REQUEST = {
    "subject": {"type": "User", "id": "dave",
                "properties": {"groups": ["hr-partners"], "clearance": 2, "employment": "employee"}},
    "action": {"name": "read"},
    "resource": {"type": "DataProduct", "id": "people.employees"},
    "context": {"purpose": "hr_administration"},
}  # fmt: skip


def entries(path: Path) -> dict[str, bytes]:
    return unpack(path.read_bytes(), path.name, Limits())


def flip(files: dict[str, bytes], name: str) -> dict[str, bytes]:
    data = bytearray(files[name])
    data[len(data) // 2] ^= 0x01
    return {**files, name: bytes(data)}


def raw_tar(members: list[tuple[tarfile.TarInfo, bytes]]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data else None)
    return gzip.compress(raw.getvalue(), mtime=0)


def info(name: str, kind: bytes = tarfile.REGTYPE, size: int = 0) -> tarfile.TarInfo:
    member = tarfile.TarInfo(name)
    member.type, member.size, member.linkname = kind, size, "/etc/passwd"
    return member


@pytest.mark.parametrize(
    ("layer", "name", "error"),
    [
        ("people", "domains/people/access/grants.cedar", E.TamperedFile),
        ("people", "domains/people/products/employees.yaml", E.TamperedFile),
        ("global", "schema.cedarschema", E.TamperedFile),
        ("global", "governance.yaml", E.TamperedFile),
        ("people", ".manifest", E.TamperedFile),
        ("people", ".signatures.json", E.BadSignature),
    ],
)
def test_a_flipped_byte_in_any_file_kind_is_refused(served, trust, layer, name, error):
    path = served / f"{layer}.tar.gz"
    path.write_bytes(pack(flip(entries(path), name)))
    with pytest.raises(error, match=rf"bundle `{layer}\.tar\.gz`"):
        verify_bundle(path.read_bytes(), path.name, trust)


def test_added_removed_and_unsigned_files_are_refused(served, trust):
    path = served / "sales.tar.gz"
    files = entries(path)
    with pytest.raises(E.TamperedFile, match="extra file"):
        verify_bundle(
            pack({**files, "domains/sales/access/x.cedar": b"permit(principal,action,resource);"}),
            "s",
            trust,
        )
    removed = {k: v for k, v in files.items() if k != "domains/sales/access/grants.cedar"}
    with pytest.raises(E.TamperedFile, match="missing"):
        verify_bundle(pack(removed), "s", trust)
    unsigned = {k: v for k, v in files.items() if k != ".signatures.json"}
    with pytest.raises(E.MissingSignature):
        verify_bundle(pack(unsigned), "s", trust)


def test_signatures_swapped_between_bundles_are_refused(served, trust):
    sales, people = entries(served / "sales.tar.gz"), entries(served / "people.tar.gz")
    swapped = {**sales, ".signatures.json": people[".signatures.json"]}
    with pytest.raises((E.TamperedFile, E.UntrustedKey)):
        verify_bundle(pack(swapped), "sales.tar.gz", trust)


def test_a_domain_key_cannot_sign_the_global_layer(tmp_path, keys, trust):
    build_bundles(
        Path(__file__).resolve().parents[2] / "policies",
        tmp_path,
        {"*": keys["sales"]},
        layers=["global"],
    )
    path = tmp_path / "global.tar.gz"
    with pytest.raises(E.UntrustedKey, match="may sign `sales`, not `global`"):
        verify_bundle(path.read_bytes(), path.name, trust)


def test_a_key_missing_from_the_trust_file_is_refused(served, trust):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from governance.bundle.build import signatures_file

    files = {k: v for k, v in entries(served / "sales.tar.gz").items() if k != ".signatures.json"}
    files[".signatures.json"] = signatures_file(files, "sales", Ed25519PrivateKey.generate())
    with pytest.raises(E.UntrustedKey, match="does not list"):
        verify_bundle(pack(files), "sales.tar.gz", trust)


@pytest.mark.parametrize(
    ("member", "error"),
    [
        (info("../escape.cedar", size=1), E.UnsafeEntry),
        (info("/etc/cron.d/x", size=1), E.UnsafeEntry),
        (info("domains/sales/../../x", size=1), E.UnsafeEntry),
        (info("link", tarfile.SYMTYPE), E.UnsafeEntry),
        (info("hard", tarfile.LNKTYPE), E.UnsafeEntry),
        (info("dev", tarfile.CHRTYPE), E.UnsafeEntry),
        (info("fifo", tarfile.FIFOTYPE), E.UnsafeEntry),
    ],
)
def test_traversal_links_and_devices_are_refused(trust, member, error):
    data = b"x" if member.isreg() else b""
    with pytest.raises(error, match=r"bundle `evil\.tar\.gz`"):
        verify_bundle(raw_tar([(member, data)]), "evil.tar.gz", trust)


def test_a_gzip_bomb_stops_at_the_extraction_bound(trust):
    bomb = gzip.compress(b"\0" * (64 * 1024 * 1024), mtime=0)  # 64 MiB of zeros in ~64 KiB
    assert len(bomb) < 1024 * 1024
    with pytest.raises(E.DecompressionBomb):
        verify_bundle(bomb, "bomb.tar.gz", trust, Limits(max_extracted_bytes=8 * 1024 * 1024))


def test_an_archive_over_the_size_limit_is_refused_unread(served, trust):
    data = (served / "sales.tar.gz").read_bytes()
    with pytest.raises(E.ArchiveTooLarge):
        verify_bundle(data, "sales.tar.gz", trust, Limits(max_archive_bytes=len(data) - 1))


@pytest.mark.parametrize("garbage", [b"", b"not a bundle", gzip.compress(b"garbage", mtime=0)])
def test_garbage_is_malformed(trust, garbage):
    with pytest.raises(E.MalformedBundle):
        verify_bundle(garbage, "g.tar.gz", trust)


def test_every_refusal_keeps_the_old_set_serving(served, trust, keys, tmp_path):
    engine = Engine.from_bundles(served, trust=trust)
    assert engine.bundles is not None
    before = engine.decide(REQUEST).to_dict()
    good = (served / "people.tar.gz").read_bytes()
    attacks = {
        "tampered": pack(
            flip(entries(served / "people.tar.gz"), "domains/people/access/grants.cedar")
        ),
        "garbage": b"\x1f\x8b garbage",
        "bomb": gzip.compress(b"\0" * (70 * 1024 * 1024), mtime=0),
    }
    for label, data in attacks.items():
        (served / "people.tar.gz").write_bytes(data)
        result = engine.bundles.poll()
        assert result.activated == () and result.errors, label
        assert engine.bundles.status.last_error
        assert engine.decide(REQUEST).to_dict()["revisions"] == before["revisions"], label
    (served / "people.tar.gz").write_bytes(good)
    assert engine.bundles.poll().errors == ()


def test_a_replayed_older_sequence_is_a_rollback(served, trust, keys, tmp_path):
    engine = Engine.from_bundles(served, trust=trust)
    assert engine.bundles is not None
    old = (served / "sales.tar.gz").read_bytes()
    tree = tmp_path / "tree"
    import shutil

    shutil.copytree(Path(__file__).resolve().parents[2] / "policies", tree)
    (tree / "domains/sales/domain.yaml").write_text(
        (tree / "domains/sales/domain.yaml").read_text() + "\n# v2\n"
    )
    build_bundles(tree, served, keys, layers=["sales"])
    assert engine.bundles.poll().activated == ("sales",)
    assert engine.bundles.status.layers["sales"].sequence == 2
    (served / "sales.tar.gz").write_bytes(old)
    result = engine.bundles.poll()
    assert [type(e) for e in result.errors] == [E.Rollback]
    assert engine.bundles.status.layers["sales"].sequence == 2


def test_two_bundles_for_one_layer_and_a_foreign_schema(served, trust, keys, tmp_path):
    (served / "sales-copy.tar.gz").write_bytes((served / "sales.tar.gz").read_bytes())
    with pytest.raises(E.DuplicateLayer):
        Engine.from_bundles(served, trust=trust)
    (served / "sales-copy.tar.gz").unlink()
    import shutil

    tree = tmp_path / "tree"
    shutil.copytree(Path(__file__).resolve().parents[2] / "policies", tree)
    (tree / "schema.cedarschema").write_text((tree / "schema.cedarschema").read_text() + "\n")
    build_bundles(tree, served, keys, layers=["sales"])
    with pytest.raises(E.SchemaMismatch, match=r"sales\.tar\.gz"):
        Engine.from_bundles(served, trust=trust)
