"""Snapshot build errors are load errors: colliding entity ids and a malformed action hierarchy
are located problems, never a bare ValueError, and `reload` keeps the previous set."""

from __future__ import annotations

import pytest

from governance import LoadError
from governance.errors import ReloadError
from governance.snapshot import build_snapshot
from governance.tree.formats import ActionSpec
from governance.tree.load import display_path
from tests.treebuilder import ACTIONS, TreeBuilder, request

OPEN = '@id("all")\npermit (principal, action, resource);\n'
REST = ["export", "share", "delete"]

ACTION_TREES = {
    "cycle": ([{"name": "read", "parents": ["write"]}, {"name": "write", "parents": ["read"]},
               *REST], "action-cycle", "`read` -> `write` -> `read`"),
    "long-cycle": ([{"name": "read", "parents": ["write"]}, {"name": "write", "parents": ["share"]},
                    {"name": "share", "parents": ["read"]}, "export", "delete"], "action-cycle",
                   "`read` -> `write` -> `share` -> `read`"),
    "own-parent": ([{"name": "read", "parents": ["read"]}, "write", *REST], "action-cycle",
                   "`read` is its own parent"),
    "duplicate": (["read", "write", "read", *REST], "duplicate-id", "`read` is declared twice"),
    "unknown-parent": ([{"name": "read", "parents": ["nope"]}, "write", *REST], "unknown-entity",
                       "unknown parent action `nope`"),
}  # fmt: skip


def good_tree(tmp_path, **kw) -> TreeBuilder:
    tree = TreeBuilder(tmp_path, **kw)
    tree.cedar("global", OPEN)
    tree.product("sales.a", ["b/c"])
    return tree


@pytest.mark.parametrize("evaluator", ["reference", "compiled"])
@pytest.mark.parametrize("case", sorted(ACTION_TREES))
def test_malformed_action_hierarchy_is_a_located_load_error(tmp_path, case, evaluator):
    actions, code, words = ACTION_TREES[case]
    tree = good_tree(tmp_path, actions=actions)
    with pytest.raises(LoadError) as exc:
        tree.engine(evaluator=evaluator)
    [problem] = exc.value.errors
    assert (problem.code, problem.location.file) == (code, tree.rel("governance.yaml"))
    assert problem.location.line > 1 and words in problem.message


@pytest.mark.parametrize("evaluator", ["reference", "compiled"])
def test_entity_ids_of_product_and_column_cannot_collide(tmp_path, evaluator):
    # `sales.a` + column `b/c` and `sales.a/b` + column `c` would both be Column::"sales.a/b/c"
    tree = good_tree(tmp_path)
    tree.write("domains/sales/products/ab.yaml",
               {"id": "sales.a/b", "schema": [{"name": "t", "properties": [{"name": "c"}]}]})  # fmt: skip
    with pytest.raises(LoadError) as exc:
        tree.engine(evaluator=evaluator)
    [problem] = exc.value.errors
    assert problem.code == "bad-product-id"
    assert (problem.location.file, problem.location.line) == (
        tree.rel("domains/sales/products/ab.yaml"), 1,
    )  # fmt: skip


def test_a_column_key_with_a_slash_is_fine(tmp_path):
    engine = good_tree(tmp_path).engine()
    assert engine.decide(request(product="sales.a", columns=["b/c"])).allowed


@pytest.mark.parametrize("case", ["collision", *sorted(ACTION_TREES)])
def test_reload_keeps_the_previous_set(tmp_path, case):
    tree = good_tree(tmp_path)
    engine = tree.engine()
    before = engine.snapshot
    if case == "collision":
        tree.write("domains/sales/products/ab.yaml", {"id": "sales.a/b"})
    else:
        tree.write("governance.yaml", {"actions": ACTION_TREES[case][0]})
    with pytest.raises(ReloadError):
        engine.reload(tree.root)
    assert engine.snapshot is before
    assert engine.decide(request(product="sales.a")).allowed


def test_whatever_the_entity_store_refuses_is_a_load_error(tmp_path):
    # A tree altered after validation (as a library caller could) still fails as a LoadError
    # where the compiled evaluator builds its entity store.
    loaded, problems = good_tree(tmp_path).load()
    actions = [ActionSpec(name="read"), *(ActionSpec(name=a) for a in ACTIONS)]
    loaded.config = loaded.config.model_copy(update={"actions": actions})
    with pytest.raises(LoadError) as exc:
        build_snapshot(loaded, problems, "compiled")
    [problem] = exc.value.errors
    assert problem.code == "snapshot" and "Action" in problem.message
    assert problem.location.file == display_path(loaded.root)
