"""SPEC 5: a load succeeds whole or the previous good set stays active, across threads too."""

from __future__ import annotations

import threading

import pytest

from governance import Engine, LoadError, ReloadError
from tests.treebuilder import TreeBuilder, fixed_clock, request

OPEN = '@id("open")\n@reason("Version A is open.")\npermit (principal, action, resource);\n'
CLOSED = '@id("closed")\n@reason("Version B is closed.")\nforbid (principal, action, resource);\n'


def build(root, policy, level):
    t = TreeBuilder(root)
    t.cedar("global", policy)
    t.product("sales.orders", [{"name": "email", "classification": level}])
    return t


@pytest.fixture
def trees(tmp_path):
    a = build(tmp_path / "a", OPEN, "internal")
    b = build(tmp_path / "b", CLOSED, "confidential")
    return a, b


def fingerprint(decision):
    """Everything that must come from one single policy set."""
    d = decision.to_dict()
    return (
        d["allowed"],
        tuple(p["id"] for p in d["access"]["policies"]),
        d["classification"]["level"],
        d["revisions"]["global"],
    )


def test_successful_reload_swaps_the_policy_set(trees):
    a, b = trees
    engine = a.engine()
    before = engine.decide(request())
    assert before.allowed
    engine.reload(b.root)
    after = engine.decide(request()).to_dict()
    assert after["allowed"] is False
    assert [p["id"] for p in after["access"]["policies"]] == ["global/closed"]
    assert after["classification"]["level"] == "confidential"
    assert after["revisions"]["global"] != before.to_dict()["revisions"]["global"]


def test_reload_of_edited_tree_in_place(trees):
    a, _ = trees
    engine = a.engine()
    assert engine.decide(request()).allowed
    a.cedar("global", CLOSED)
    engine.reload(a.root)
    assert not engine.decide(request()).allowed


def test_failed_reload_raises_and_keeps_the_previous_set(trees):
    a, b = trees
    engine = a.engine()
    good = fingerprint(engine.decide(request()))
    b.cedar("global", CLOSED + "\npermit (principal, action, resource);\n")  # missing @id
    with pytest.raises(ReloadError) as exc:
        engine.reload(b.root)
    assert isinstance(exc.value, LoadError)
    assert "missing-id" in {p.code for p in exc.value.problems}
    assert fingerprint(engine.decide(request())) == good


def test_reload_of_missing_tree_keeps_the_previous_set(trees, tmp_path):
    a, _ = trees
    engine = a.engine()
    with pytest.raises(ReloadError):
        engine.reload(tmp_path / "gone")
    assert engine.decide(request()).allowed


def test_half_broken_tree_is_never_partially_served(trees):
    """A new tree with a fine new policy and a broken file elsewhere: none of it is taken."""
    a, b = trees
    engine = a.engine()
    b.classification("sales", "rules: [\n")
    with pytest.raises(ReloadError):
        engine.reload(b.root)
    d = engine.decide(request()).to_dict()
    assert d["allowed"] is True
    assert d["classification"]["level"] == "internal"


def test_failed_initial_load_raises_load_error(tmp_path):
    t = build(tmp_path, "permit (principal, action, resource);\n", "internal")
    with pytest.raises(LoadError) as exc:
        Engine.from_path(t.root, evaluator="reference", clock=fixed_clock("2026-06-01"))
    assert not isinstance(exc.value, ReloadError)


def test_concurrent_decisions_during_reloads_are_consistent(trees):
    a, b = trees
    engine = a.engine()
    expected = {fingerprint(engine.decide(request()))}
    engine.reload(b.root)
    expected.add(fingerprint(engine.decide(request())))
    assert len(expected) == 2
    broken = build(a.root.parent / "broken", OPEN, "internal")
    broken.cedar("sales", "permit (principal, action, resource) when {;\n")

    seen: list[tuple] = []
    failures: list[BaseException] = []
    stop = threading.Event()

    def reader():
        try:
            while not stop.is_set():
                seen.append(fingerprint(engine.decide(request())))
        except BaseException as exc:  # reported below
            failures.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for thread in threads:
        thread.start()
    try:
        for i in range(30):
            engine.reload((a if i % 2 else b).root)
            with pytest.raises(ReloadError):
                engine.reload(broken.root)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    assert not failures
    assert seen
    assert set(seen) <= expected
    # the last successful reload (i = 29, tree a) is what answers now
    assert fingerprint(engine.decide(request())) == fingerprint(a.engine().decide(request()))


@pytest.fixture
def collector():
    """The collector's state and frozen objects as the test found them."""
    import gc

    enabled = gc.isenabled()
    yield gc
    gc.unfreeze()
    (gc.enable if enabled else gc.disable)()


def test_a_replaced_snapshot_leaves_no_cyclic_garbage(trees, collector, monkeypatch):
    """The live snapshot is frozen after each swap (out of the collector's sight), which is only
    sound because a replaced one is freed by reference counting alone. Without the freeze, a
    collection after each reload finds no garbage at all."""
    import governance.engine
    import governance.snapshot

    monkeypatch.setattr(governance.engine, "settle_after_swap", lambda: None)
    monkeypatch.setattr(governance.snapshot, "settle_after_swap", lambda: None)
    a, b = trees
    engine = a.engine()
    engine.decide(request(groups=["x"]))
    collector.collect()
    collector.disable()
    for tree in (b, a, b):
        engine.reload(tree.root)
        engine.decide(request(groups=["x"]))
        assert collector.collect() == 0


@pytest.mark.parametrize("enabled", [True, False])
def test_loading_restores_the_collector_as_it_was(trees, collector, tmp_path, enabled):
    a, _ = trees
    (collector.enable if enabled else collector.disable)()
    engine = a.engine()
    assert collector.isenabled() is enabled
    engine.reload(a.root)
    assert collector.isenabled() is enabled
    with pytest.raises(ReloadError):
        engine.reload(tmp_path / "missing")
    assert collector.isenabled() is enabled
    assert collector.get_freeze_count() > 0  # the swap froze the live snapshot


class _Part:
    """A weakly referenceable stand-in for a snapshot's parts."""

    def __init__(self, *children: object) -> None:
        self.children = list(children)


def test_let_go_frees_a_replaced_structure_and_spares_what_others_hold():
    import weakref

    from governance.release import let_go

    shared = _Part("kept")
    leaves = [_Part(i) for i in range(500)]
    table = {i: _Part(leaf, shared) for i, leaf in enumerate(leaves)}
    root = _Part(table, [shared, _Part(_Part(_Part()))])
    watched = [weakref.ref(p) for p in (root, *table.values(), *leaves)]
    held = [root]
    del root, table, leaves
    let_go(held)
    assert held == [] and all(ref() is None for ref in watched)
    assert shared.children == ["kept"]


@pytest.mark.parametrize("behind_a_small_object", [False, True])
def test_let_go_frees_a_big_container_entry_by_entry(monkeypatch, behind_a_small_object):
    """Each entry of a big container is its own step, not one cascade at the end: the entries
    are freed at many different points of the walk (counted by its `gc.get_referents` calls)."""
    import gc
    import weakref

    from governance.release import let_go

    steps = [0]
    referents = gc.get_referents

    def counted(*objects: object) -> list[object]:
        steps[0] += 1
        return referents(*objects)

    monkeypatch.setattr(gc, "get_referents", counted)
    freed_at: list[int] = []
    leaves = [_Part(_Part(i)) for i in range(500)]
    watched = [weakref.ref(leaf, lambda _: freed_at.append(steps[0])) for leaf in leaves]
    table = {i: _Part(leaf) for i, leaf in enumerate(leaves)}
    # Deep down, behind objects holding nothing else (as an evaluator holds an entity store,
    # and the store its table).
    held = [_Holder(_Holder(_Holder(table)))] if behind_a_small_object else [_Part(table)]
    del leaves, table
    let_go(held)
    assert len(freed_at) == len(watched) == 500
    assert len(set(freed_at)) > 400


class _Holder:
    __slots__ = ("table",)

    def __init__(self, table: object) -> None:
        self.table = table


def test_a_reload_frees_the_replaced_snapshot_before_returning(trees):
    import weakref

    a, b = trees
    engine = Engine.from_path(a.root, evaluator="compiled")
    store = weakref.ref(engine.snapshot.evaluator._store)
    engine.reload(b.root)
    assert store() is None
    assert fingerprint(engine.decide(request(groups=["x"])))[0] is False
