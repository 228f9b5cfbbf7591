"""The revision is what runs: a reload reads one tree whole, however its root symlink moves, and
decision sources name files relative to the tree root, whatever the working directory."""

from __future__ import annotations

import os
import threading

from governance import Engine, ReloadError
from governance.tree.load import load_tree
from tests.treebuilder import TreeBuilder, request


def release(root, tag: str, level: str) -> TreeBuilder:
    """A release whose every file says which release it is (policy ids, levels, columns)."""
    tree = TreeBuilder(root)
    tree.cedar("global", f'@id("{tag}-global")\npermit (principal, action, resource);\n')
    tree.cedar("sales", f'@id("{tag}-sales")\npermit (principal, action, resource);\n')
    tree.cedar("finance", f'@id("{tag}-finance")\npermit (principal, action, resource);\n')
    tree.product("sales.orders", [{"name": "email", "classification": level}])
    tree.product("finance.ledger", [{"name": f"{tag}_amount", "classification": level}])
    tree.classification("global", [{"id": f"{tag}-rule", "match": {"columns": ["email"]},
                                    "level": level}])  # fmt: skip
    return tree


def fingerprint(engine: Engine) -> tuple[str, ...]:
    snapshot = engine.snapshot
    tree = snapshot.tree
    return (
        *sorted(p.full_id.split("/")[1].split("-")[0] for p in tree.policies()),
        *sorted(c.key.split("_")[0] for c in tree.products()["finance.ledger"].columns),
        snapshot.products["sales.orders"].classification.columns["email"].level,
        *sorted(layer.revision for layer in tree.layers()),
    )


def test_a_root_symlink_swapped_during_reloads_gives_wholly_one_release(tmp_path):
    releases = {tag: release(tmp_path / "releases" / tag, tag, level)
                for tag, level in (("a", "internal"), ("b", "confidential"))}  # fmt: skip
    link = tmp_path / "policies"
    link.symlink_to(releases["a"].root)
    clean = {
        fingerprint(Engine.from_path(t.root, evaluator="reference")) for t in releases.values()
    }
    assert len(clean) == 2
    engine = Engine.from_path(link, evaluator="reference")
    stop = threading.Event()

    def swap() -> None:
        flip = 0
        while not stop.is_set():
            flip ^= 1
            staged = tmp_path / f"staged-{flip}"
            staged.symlink_to(releases["ab"[flip]].root)
            os.replace(staged, link)  # how a deploy switches releases: one atomic rename

    swapper = threading.Thread(target=swap)
    swapper.start()
    seen, failed = [], 0
    try:
        for _ in range(40):
            try:
                engine.reload(link)
            except ReloadError:
                failed += 1
                continue
            seen.append(fingerprint(engine))
    finally:
        stop.set()
        swapper.join()
    mixed = [f for f in seen if f not in clean]
    assert not mixed and not failed, f"{len(mixed)} mixed, {failed} failed of 40 reloads"


def test_decision_sources_are_relative_to_the_tree_root_in_any_working_directory(
    tmp_path, monkeypatch
):
    tree = TreeBuilder(tmp_path / "org" / "policies")
    tree.cedar("global", '@id("open")\npermit (principal, action, resource);\n', "open.cedar")
    tree.product("sales.orders", [{"name": "email", "classification": "internal"}])
    tree.classification("global", [{"id": "mail", "match": {"columns": ["email"]},
                                    "level": "internal"}])  # fmt: skip
    sources = []
    for cwd, path in ((tmp_path, "org/policies"), (tmp_path / "org", "policies"),
                      (tree.root, "."), (tmp_path / "org" / "policies" / "global", "..")):  # fmt: skip
        monkeypatch.chdir(cwd)
        decision = Engine.from_path(path).decide(request(columns=["email"])).to_dict()
        classified = decision["classification"]["columns"]["email"]["sources"]
        sources.append(
            (decision["access"]["policies"][0]["source"], *(s["source"] for s in classified))
        )
    assert sources[0][:2] == ("global/access/open.cedar:1:1", "global/classification.yaml:2:3")
    assert sources[0][2].startswith("domains/sales/products/orders.yaml:")
    assert all(s == sources[0] for s in sources), sources


def test_check_still_names_files_as_the_root_was_given(tmp_path, monkeypatch):
    tree = release(tmp_path / "releases" / "a", "a", "internal")
    (tmp_path / "policies").symlink_to(tree.root)
    tree.write("global/access/broken.cedar", "permit (principal, action, resource);\n")
    monkeypatch.chdir(tmp_path)
    _, problems = load_tree("policies")
    (missing,) = [p for p in problems if p.code == "missing-id"]
    assert missing.location.file == "policies/global/access/broken.cedar"
