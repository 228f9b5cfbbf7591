"""A load given the previous tree parses only the files whose bytes changed, and gives exactly
what a fresh load of the same files gives: the same layers, the same problems, every check that
spans layers run again."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from governance import Engine
from governance.tree.layers import PolicyTree
from governance.tree.load import load_tree
from tests.stat_trust import settle
from tests.treebuilder import SCHEMA, TreeBuilder, request

SALES = (
    '@id("sales-read")\npermit (principal, action, resource) when { principal.clearance >= 1 };\n'
)


def organisation(root: Path) -> TreeBuilder:
    tree = TreeBuilder(root)
    tree.cedar(
        "global",
        '@id("ledger-guard")\n@note("kept")\nforbid (principal, action, resource == '
        'DataProduct::"finance.ledger") when { principal.clearance < 2 };\n',
    )
    tree.cedar("sales", SALES)
    tree.cedar("finance", '@id("fin")\npermit (principal, action, resource);\n')
    tree.product("sales.orders", [{"name": "email", "classification": "internal"}])
    tree.product("finance.ledger", [{"name": "amount", "classification": "confidential"}])
    tree.product("finance.budget", [{"name": "total", "classification": "internal"}])
    tree.retention("sales", [{"id": "r", "min": "P1Y"}])
    return tree


def _same_size_edit(tree: TreeBuilder) -> None:
    path = tree.root / "domains/sales/access/policies.cedar"
    path.write_text(SALES.replace(">= 1", ">= 2"))


def _product_a_global_policy_names_goes(tree: TreeBuilder) -> None:
    (tree.root / "domains/finance/products/ledger.yaml").unlink()


def _schema_drops_what_a_domain_reads(tree: TreeBuilder) -> None:
    tree.write("schema.cedarschema", SCHEMA.replace("  clearance: Long,\n", ""))


def _binary_product(tree: TreeBuilder) -> None:
    (tree.root / "domains/sales/products/orders.yaml").write_bytes(b"id: x\x00\n")


def _domain_removed(tree: TreeBuilder) -> None:
    for path in sorted((tree.root / "domains/sales").rglob("*"), reverse=True):
        path.rmdir() if path.is_dir() else path.unlink()
    (tree.root / "domains/sales").rmdir()


def _retention_broken(tree: TreeBuilder) -> None:
    tree.retention("sales", [{"id": "r", "min": "P2Y", "max": "P1Y"}])


def _nothing(tree: TreeBuilder) -> None:
    pass


EDITS: dict[str, Callable[[TreeBuilder], None]] = {
    "same-size edit": _same_size_edit,
    "product a global policy names goes": _product_a_global_policy_names_goes,
    "schema drops an attribute a domain reads": _schema_drops_what_a_domain_reads,
    "product turned binary": _binary_product,
    "domain removed": _domain_removed,
    "retention rule broken": _retention_broken,
    "nothing": _nothing,
}


def _load(root: Path, previous: PolicyTree | None = None) -> tuple[PolicyTree, list[object]]:
    tree, problems = load_tree(root, previous=previous)
    assert tree is not None
    return tree, list(problems)


@pytest.mark.parametrize("listing", ["just written", "settled"])
@pytest.mark.parametrize("edit", list(EDITS))
def test_a_load_from_the_previous_tree_equals_a_fresh_load(
    tmp_path: Path, edit: str, listing: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Just written, every file is too new for its stat to be trusted and each layer is read;
    settled, unchanged layers are taken by their listing without a read."""
    tree = organisation(tmp_path / "tree")
    if listing == "settled":
        settle(monkeypatch)
    before, _ = _load(tree.root)
    if listing == "settled":
        settle(monkeypatch)
    EDITS[edit](tree)
    reused, problems = _load(tree.root, before)
    fresh, expected = _load(tree.root)
    assert problems == expected
    assert reused.layers() == fresh.layers()
    assert [layer.revision for layer in reused.layers()] == [
        layer.revision for layer in fresh.layers()
    ]
    assert reused.memo is not None and reused.memo.reused > 0


def test_unchanged_layers_are_taken_whole_and_changed_files_parsed_again(tmp_path: Path) -> None:
    tree = organisation(tmp_path / "tree")
    before, _ = _load(tree.root)
    _same_size_edit(tree)
    after, problems = _load(tree.root, before)
    assert after.global_layer is before.global_layer
    assert after.domains["finance"] is before.domains["finance"]
    assert after.domains["sales"] is not before.domains["sales"]
    (policy,) = after.domains["sales"].policies
    assert ">= 2" in policy.text
    # The unchanged global file's warning (an unknown annotation) is reported again.
    assert [p.code for p in problems] == ["unknown-annotation"]


def test_a_tree_read_below_another_root_lends_nothing(tmp_path: Path) -> None:
    first = organisation(tmp_path / "a")
    second = organisation(tmp_path / "b")
    before, _ = _load(first.root)
    after, _ = _load(second.root, before)
    assert after.memo is not None and after.memo.reused == 0
    assert after.global_layer is not before.global_layer


@pytest.mark.parametrize("edit", list(EDITS))
def test_a_tree_named_alike_below_another_root_lends_its_files(tmp_path: Path, edit: str) -> None:
    """As `govern diff` reads its candidate: both trees named relative to their roots, so an
    unchanged file's result (its problems and locations included) is right for either."""
    base = organisation(tmp_path / "base")
    candidate = organisation(tmp_path / "candidate")
    EDITS[edit](candidate)
    before, _ = load_tree(base.root, tree_relative=True)
    assert before is not None
    lent, problems = load_tree(candidate.root, tree_relative=True, previous=before)
    fresh, expected = load_tree(candidate.root, tree_relative=True)
    assert lent is not None and fresh is not None
    assert problems == expected
    assert lent.layers() == fresh.layers()
    assert [layer.folder for layer in lent.layers()] == [
        layer.folder for layer in fresh.layers()
    ]  # a whole layer holds its folder's paths: never taken from another root
    assert lent.global_layer is not before.global_layer
    assert [layer.revision for layer in lent.layers()] == [
        layer.revision for layer in fresh.layers()
    ]
    assert lent.memo is not None and lent.memo.reused > 0


def test_a_chain_of_reloads_keeps_only_the_last_results(tmp_path: Path) -> None:
    tree = organisation(tmp_path / "tree")
    engine = Engine.from_path(tree.root, evaluator="compiled")
    for clearance in (2, 3, 1):
        path = tree.root / "domains/sales/access/policies.cedar"
        path.write_text(SALES.replace(">= 1", f">= {clearance}"))
        engine.reload(tree.root)
        decision = engine.decide(request(product="sales.orders", clearance=2))
        assert decision.allowed is (clearance <= 2)
    memo = engine.snapshot.tree.memo
    assert memo is not None and memo._earlier == {}
