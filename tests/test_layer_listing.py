"""A reload takes a layer whole by its listing (every entry and each file's stat) without reading
a file, and only when no change can hide behind an equal listing: a rewrite that keeps the size
and restores the mtime is seen, so is one within the filesystem's timestamp resolution of the
last load, a replaced file, and anything behind a symlink."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from governance.tree import fingerprint, load
from governance.tree.fingerprint import layer_listing
from governance.tree.layers import PolicyTree
from governance.tree.load import load_tree
from tests.stat_trust import settle
from tests.treebuilder import TreeBuilder

POLICY = (
    '@id("sales-read")\npermit (principal, action, resource) when { principal.clearance >= 1 };\n'
)
ROOT_FILES = {"governance.yaml", "schema.cedarschema"}


def organisation(root: Path) -> TreeBuilder:
    tree = TreeBuilder(root)
    tree.cedar("global", '@id("guard")\nforbid (principal, action, resource) when { false };\n')
    tree.cedar("sales", POLICY)
    tree.cedar("finance", '@id("fin")\npermit (principal, action, resource);\n')
    tree.product("sales.orders", [{"name": "email", "classification": "internal"}])
    tree.product("finance.ledger", [{"name": "amount", "classification": "confidential"}])
    return tree


def _load(root: Path, previous: PolicyTree | None = None) -> tuple[PolicyTree, list[object]]:
    tree, problems = load_tree(root, previous=previous)
    assert tree is not None
    return tree, list(problems)


def _reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the files the loader reads from now on."""
    read: list[str] = []
    real = load.read_bytes

    def counting(path: Path, display: str, problems: list[object]) -> object:
        read.append(path.name)
        return real(path, display, problems)  # type: ignore[arg-type]

    monkeypatch.setattr(load, "read_bytes", counting)
    return read


def _same_size_rewrite(path: Path, old: str, new: str) -> None:
    """Rewrite in place with text of the same size, then set the old atime and mtime back."""
    before = path.stat()
    text = path.read_text()
    assert len(old) == len(new) and old in text
    path.write_text(text.replace(old, new))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == (
        before.st_size,
        before.st_mtime_ns,
        before.st_ino,
    )


def _assert_as_fresh(root: Path, reused: PolicyTree, problems: list[object]) -> None:
    fresh, expected = _load(root)
    assert problems == expected
    assert reused.layers() == fresh.layers()
    assert [layer.revision for layer in reused.layers()] == [
        layer.revision for layer in fresh.layers()
    ]


def test_a_settled_unchanged_tree_reads_only_its_root_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tree = organisation(tmp_path / "tree")
    settle(monkeypatch)
    before, _ = _load(tree.root)
    read = _reads(monkeypatch)
    after, problems = _load(tree.root, before)
    assert set(read) == ROOT_FILES
    assert all(a is b for a, b in zip(after.layers(), before.layers(), strict=True))
    _assert_as_fresh(tree.root, after, problems)


def test_one_changed_domain_is_the_only_layer_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tree = organisation(tmp_path / "tree")
    settle(monkeypatch)
    before, _ = _load(tree.root)
    settle(monkeypatch)
    tree.cedar("sales", POLICY.replace(">= 1", ">= 2"))
    read = _reads(monkeypatch)
    after, problems = _load(tree.root, before)
    # The sales layer is read (its unchanged files are read and hashed, not parsed again).
    assert set(read) == ROOT_FILES | {"policies.cedar", "domain.yaml", "orders.yaml"}
    assert after.domains["finance"] is before.domains["finance"]
    assert ">= 2" in after.domains["sales"].policies[0].text
    _assert_as_fresh(tree.root, after, problems)


@pytest.mark.parametrize("listing", ["just written", "settled"])
def test_a_rewrite_keeping_size_and_mtime_is_seen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, listing: str
) -> None:
    """Just written (the last load within the settle time of the files' changes), the layer is
    read because its stat cannot be trusted yet; settled, the rewrite changed the ctime."""
    tree = organisation(tmp_path / "tree")
    if listing == "settled":
        settle(monkeypatch)
    before, _ = _load(tree.root)
    _same_size_rewrite(tree.root / "domains/sales/access/policies.cedar", ">= 1", ">= 3")
    after, problems = _load(tree.root, before)
    assert ">= 3" in after.domains["sales"].policies[0].text
    assert after.domains["sales"].revision != before.domains["sales"].revision
    _assert_as_fresh(tree.root, after, problems)


def test_a_file_changed_within_the_settle_time_is_not_trusted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tree = organisation(tmp_path / "tree")
    folder = tree.root / "domains/sales"
    assert layer_listing(folder) is None  # just written: the default settle time is 2 s
    settle(monkeypatch)
    listed = layer_listing(folder)
    assert listed is not None
    assert {entry[0] for entry in listed} >= {"access", "access/policies.cedar", "domain.yaml"}
    monkeypatch.setattr(fingerprint, "SETTLE_NS", 10**12)
    assert layer_listing(folder) is None


def test_a_replaced_file_is_seen(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An atomic replace (a new inode) with the old size and mtime."""
    tree = organisation(tmp_path / "tree")
    settle(monkeypatch)
    before, _ = _load(tree.root)
    settle(monkeypatch)
    path = tree.root / "domains/sales/access/policies.cedar"
    old = path.stat()
    spare = path.with_name(".new")
    spare.write_text(POLICY.replace(">= 1", ">= 4"))
    os.utime(spare, ns=(old.st_atime_ns, old.st_mtime_ns))
    os.replace(spare, path)
    after, problems = _load(tree.root, before)
    assert ">= 4" in after.domains["sales"].policies[0].text
    _assert_as_fresh(tree.root, after, problems)


def test_a_layer_holding_a_symlink_is_always_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a link points at can change without a trace in the folder: never trusted."""
    tree = organisation(tmp_path / "tree")
    outside = tmp_path / "shared.cedar"
    outside.write_text('@id("linked")\npermit (principal, action, resource);\n')
    (tree.root / "domains/finance/access/linked.cedar").symlink_to(outside)
    settle(monkeypatch)
    before, _ = _load(tree.root)
    assert layer_listing(tree.root / "domains/finance") is None
    settle(monkeypatch)
    outside.write_text('@id("linked")\nforbid (principal, action, resource);\n')
    after, problems = _load(tree.root, before)
    assert [p.effect for p in after.domains["finance"].policies if p.local_id == "linked"] == [
        "forbid"
    ]
    _assert_as_fresh(tree.root, after, problems)


_EDITS = ["same-size rewrite", "appended policy", "new product", "product removed", "chmod"]


def _edit(tree: TreeBuilder, edit: str, step: int) -> None:
    sales = tree.root / "domains/sales"
    policy = sales / "access/policies.cedar"
    if edit == "same-size rewrite":
        text = policy.read_text()
        digit = next(c for c in "123456789" if f">= {c}" in text)
        _same_size_rewrite(policy, f">= {digit}", f">= {int(digit) % 9 + 1}")
    elif edit == "appended policy":
        with policy.open("a") as file:
            file.write(f'@id("extra{step}")\npermit (principal, action, resource);\n')
    elif edit == "new product":
        tree.product(f"sales.p{step}", [{"name": "c", "classification": "internal"}])
    elif edit == "product removed":
        for path in sorted((sales / "products").glob("*.yaml"))[:1]:
            path.unlink()
    else:
        (sales / "domain.yaml").chmod(0o600 if step % 2 else 0o644)


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.sampled_from(_EDITS), min_size=1, max_size=3))
def test_any_sequence_of_edits_loads_as_a_fresh_load(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch, edits: list[str]
) -> None:
    tree = organisation(tmp_path_factory.mktemp("seq") / "tree")
    settle(monkeypatch)
    previous, _ = _load(tree.root)
    for step, edit in enumerate(edits):
        settle(monkeypatch)
        _edit(tree, edit, step)
        previous, problems = _load(tree.root, previous)
        _assert_as_fresh(tree.root, previous, problems)
