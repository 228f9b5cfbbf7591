"""The switch interval while a build runs: lowered, restored after (also on failure), and
shared by overlapping builds."""

from __future__ import annotations

import sys
import threading

import pytest

import governance.engine
from governance import ReloadError
from governance.release import BUILD_SWITCH_INTERVAL, short_turns
from tests.treebuilder import TreeBuilder


def _about(seconds: float) -> object:
    return pytest.approx(seconds, rel=0.02)  # the interpreter keeps whole microseconds


@pytest.fixture
def interval():
    before = sys.getswitchinterval()
    sys.setswitchinterval(0.004)
    yield 0.004
    sys.setswitchinterval(before)


def test_short_turns_lower_the_interval_and_restore_it(interval):
    with short_turns():
        assert sys.getswitchinterval() == _about(BUILD_SWITCH_INTERVAL)
    assert sys.getswitchinterval() == _about(interval)


def test_short_turns_restore_the_interval_on_failure(interval):
    with pytest.raises(RuntimeError), short_turns():
        raise RuntimeError("build failed")
    assert sys.getswitchinterval() == _about(interval)


def test_short_turns_never_raise_an_interval_already_lower(interval):
    sys.setswitchinterval(BUILD_SWITCH_INTERVAL / 2)
    with short_turns():
        assert sys.getswitchinterval() == _about(BUILD_SWITCH_INTERVAL / 2)
    assert sys.getswitchinterval() == _about(BUILD_SWITCH_INTERVAL / 2)


def test_overlapping_builds_restore_the_interval_when_the_last_ends(interval):
    """Two threads' builds overlap, the first to start ending first: the interval stays low
    until the second ends, then is the one from before either began."""
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen: list[float] = []

    def first() -> None:
        with short_turns():
            first_in.set()
            second_in.wait(5)
        first_out.set()

    def second() -> None:
        first_in.wait(5)
        with short_turns():
            second_in.set()
            first_out.wait(5)
            seen.append(sys.getswitchinterval())

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert seen == [_about(BUILD_SWITCH_INTERVAL)]
    assert sys.getswitchinterval() == _about(interval)


def test_a_reload_reads_and_builds_with_short_turns(tmp_path, monkeypatch, interval):
    tree = TreeBuilder(tmp_path / "tree")
    tree.cedar("global", '@id("open")\npermit (principal, action, resource);\n')
    tree.product("sales.orders", [{"name": "email", "classification": "internal"}])
    engine = tree.engine()
    during: list[float] = []
    load_tree = governance.engine.load_tree

    def watched(*args, **kwargs):  # type: ignore[no-untyped-def]
        during.append(sys.getswitchinterval())
        return load_tree(*args, **kwargs)

    monkeypatch.setattr(governance.engine, "load_tree", watched)
    engine.reload(tree.root)
    with pytest.raises(ReloadError):
        engine.reload(tmp_path / "missing")
    assert during == [_about(BUILD_SWITCH_INTERVAL)] * 2
    assert sys.getswitchinterval() == _about(interval)
