"""Live reload of a served policy tree: a real server process, edits on disk, answers over HTTP."""

from __future__ import annotations

import os
import shutil
import time

import httpx
import pytest

from governance import Engine
from governance.server import tree_watch
from governance.server.tree_watch import TreeWatcher
from governance.tree.fingerprint import tree_fingerprint, tree_state
from tests.server.conftest import ROOT, start, stop
from tests.server.test_operations import PERMIT, samples, until, value
from tests.stat_trust import settle

GRANTS = "domains/people/access/grants.cedar"


def decision(url: str) -> bool:
    """One evaluation on a fresh connection, so that with several workers any may answer."""
    return bool(
        httpx.post(f"{url}/access/v1/evaluation", json=PERMIT, timeout=10).json()["decision"]
    )


def revoke_hr_partners(tree) -> None:
    grants = tree / GRANTS
    text = grants.read_text()
    assert '"hr_administration"' in text
    grants.write_text(text.replace('"hr_administration"', '"hr_retired_purpose"'))


@pytest.fixture
def tree(tmp_path):
    copy = tmp_path / "policies"
    shutil.copytree(ROOT / "policies", copy)
    return copy


def test_an_edit_flips_the_decision_and_a_broken_tree_keeps_the_last_good_set(tree):
    process, url = start("--policies", str(tree), "--reload-interval", "1")
    try:
        with httpx.Client(base_url=url, timeout=10) as client:
            assert decision(url) is True
            ready = client.get("/ready").json()["policies"]
            assert ready["errors"] == [] and ready["last_error"] is None
            people = ready["layers"]["people"]["revision"]
            finance = ready["layers"]["finance"]

            # a file that does not parse: refused, reported, and the old set keeps answering
            grants = tree / GRANTS
            good = grants.read_text()
            grants.write_text(good + "\npermit (principal, action, resource\n")
            assert until(lambda: client.get("/ready").json()["policies"]["errors"])
            status = client.get("/ready").json()
            assert status["status"] == "ready"
            assert "grants.cedar" in status["policies"]["last_error"]
            assert status["policies"]["error_count"] >= 1
            assert status["policies"]["layers"]["people"]["revision"] == people
            assert decision(url) is True
            found = samples(client)
            assert value(found, "govern_policy_errors") >= 1
            assert value(found, "govern_policy_reloads_total", result="refused") >= 1

            # the fixed file with the grant's purpose changed: activates, the decision flips
            grants.write_text(good)
            revoke_hr_partners(tree)
            assert until(lambda: decision(url) is False)
            status = client.get("/ready").json()["policies"]
            assert status["errors"] == [] and status["error_count"] == 0
            assert "grants.cedar" in status["last_error"]  # the last error stays on record
            assert status["layers"]["people"]["revision"] != people
            assert status["layers"]["finance"] == finance  # an unchanged layer keeps its time
            found = samples(client)
            assert value(found, "govern_policy_errors") == 0
            assert value(found, "govern_policy_reloads_total", result="activated") >= 1
            assert until(
                lambda: (
                    value(samples(client), "govern_policy_reloads_total", result="unchanged") >= 1
                )
            )
    finally:
        stop(process)


def test_every_worker_reloads(tree):
    process, url = start("--policies", str(tree), "--reload-interval", "1", "--workers", "2")
    try:
        assert all(decision(url) for _ in range(10))
        revoke_hr_partners(tree)
        # both workers answer fresh connections; every answer must have flipped
        assert until(lambda: not any(decision(url) for _ in range(10)))
        assert not any(decision(url) for _ in range(20))
    finally:
        stop(process)


def test_the_fingerprint_changes_with_each_kind_of_edit(tree):
    before = tree_fingerprint(tree)
    assert tree_fingerprint(tree) == before
    (tree / "notes.md").write_text("not read by the loader, not a change")  # beside the tree
    assert tree_fingerprint(tree) == before
    (tree / "domains/people/.swap").write_text("an editor's hidden file")
    assert tree_fingerprint(tree) == before

    seen = {before}
    grants = tree / GRANTS
    grants.write_text(grants.read_text() + "\n")  # rewritten in place
    seen.add(tree_fingerprint(tree))
    replacement = tree / "replacement.cedar"
    replacement.write_text(grants.read_text())
    replacement.replace(grants)  # replaced by a rename, as editors and deploys do
    seen.add(tree_fingerprint(tree))
    (tree / "domains/people/access/extra.cedar").write_text("")
    seen.add(tree_fingerprint(tree))
    shutil.rmtree(tree / "domains/sales")
    seen.add(tree_fingerprint(tree))
    time.sleep(0.03)  # past a kernel tick: the next write stamps another ctime
    stat = grants.stat()
    grants.write_text(grants.read_text().replace("permit", "forbid", 1))
    os.utime(grants, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # old size and mtime, new bytes
    assert grants.stat().st_size == stat.st_size
    seen.add(tree_fingerprint(tree))
    assert len(seen) == 6


def test_a_symlinked_root_swapped_to_another_release_is_a_change(tmp_path):
    releases = tmp_path / "releases"
    shutil.copytree(ROOT / "policies", releases / "a")
    shutil.copytree(ROOT / "policies", releases / "b")
    link = tmp_path / "policies"
    link.symlink_to(releases / "a")
    before = tree_fingerprint(link)
    swapped = tmp_path / "next"
    swapped.symlink_to(releases / "b")
    swapped.replace(link)
    assert tree_fingerprint(link) != before
    assert tree_fingerprint(tmp_path / "missing") != before


@pytest.mark.parametrize("linked", ["domains/people", "domains/people/access", "global"])
def test_edits_below_a_symlinked_folder_the_loader_follows_change_the_fingerprint(
    tree, tmp_path, linked
):
    """The loader reads a linked folder as its own (a domain, a layer's `access`, the global
    layer): an edit of a file there, a file added, or the link pointed elsewhere is a change."""
    target = tmp_path / "elsewhere"
    shutil.move(tree / linked, target)
    (tree / linked).symlink_to(target)
    seen = {tree_fingerprint(tree)}
    policy = next(target.rglob("*.cedar"))
    policy.write_text(policy.read_text() + "\n")
    seen.add(tree_fingerprint(tree))
    (policy.parent / "extra.cedar").write_text("")
    seen.add(tree_fingerprint(tree))
    copy = tmp_path / "copy"
    shutil.copytree(target, copy, copy_function=shutil.copy2)
    (tree / linked).unlink()
    (tree / linked).symlink_to(copy)
    seen.add(tree_fingerprint(tree))
    assert len(seen) == 4


def test_a_symlink_loop_in_the_tree_is_fingerprinted_without_hanging(tree):
    (tree / "domains/people/access/up").symlink_to("../..")
    (tree / "domains/sales/there").symlink_to("../people")
    (tree / "domains/people/back").symlink_to("../sales")
    (tree / "domains/people/self").symlink_to(".")
    before = tree_fingerprint(tree)
    assert tree_fingerprint(tree) == before
    grants = tree / GRANTS
    grants.write_text(grants.read_text() + "\n")
    assert tree_fingerprint(tree) != before


def test_a_fresh_tree_is_unsettled_until_its_files_are_older_than_their_stamps_resolution(
    tree, monkeypatch
):
    assert tree_state(tree) == (tree_fingerprint(tree), False)  # just copied
    settle(monkeypatch)
    assert tree_state(tree) == (tree_fingerprint(tree), True)


def test_an_edit_that_leaves_the_fingerprint_of_an_unsettled_tree_is_still_seen(tree, monkeypatch):
    """A file rewritten within its timestamp's resolution of the last check can keep its size
    and stamps: the watcher does not trust a fingerprint taken while the tree was unsettled."""
    engine = Engine.from_path(tree)
    assert engine.decide(PERMIT).allowed
    watcher = TreeWatcher(engine, tree, seen=("same", False))  # taken moments after a write
    revoke_hr_partners(tree)  # ... and rewritten in the same tick: the same fingerprint
    monkeypatch.setattr(tree_watch, "tree_state", lambda path: ("same", True))
    assert watcher.check() == "activated"
    assert not engine.decide(PERMIT).allowed
    assert watcher.check() == "unchanged"  # settled now: the fingerprint is trusted again
