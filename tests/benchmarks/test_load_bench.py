"""Load benchmarks: a whole tree read, validated, compiled and planned, with the resident memory
of a fresh process that loaded it (`make bench` reports both beside the organisation size)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from governance import Engine
from governance.snapshot import build_snapshot
from governance.tree.load import load_tree

_MEASURE = """
import json, resource, sys
from governance import Engine
from governance.snapshot import build_snapshot
from governance.tree.load import load_tree
engine = Engine.from_path(sys.argv[1], evaluator="compiled")
pages = int(open("/proc/self/statm").read().split()[1])
print(json.dumps({
    "rss_mb": round(pages * resource.getpagesize() / 2**20, 1),
    "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    "plan_targets": len(engine.snapshot.plans),
    "distinct_plans": len({id(p) for p in engine.snapshot.plans.values()}),
}))
"""


def _memory(path: Path) -> dict[str, Any]:
    """Resident memory after a load, measured in a process that did nothing else."""
    root = Path(__file__).resolve().parents[2]
    env = {"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(path)],
        capture_output=True, text=True, check=True, env=env, timeout=600,
    )  # fmt: skip
    measured: dict[str, Any] = json.loads(done.stdout)
    return measured


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="resident memory needs /proc")
@pytest.mark.parametrize("size", [1000, 10000])
def test_load(benchmark: Any, orgs: dict[str, Path], size: int) -> None:
    """Engine.from_path on a generated organisation of `size` policies (size/10 domains)."""
    benchmark.group = "load"
    memory = _memory(orgs[str(size)])
    benchmark.extra_info.update(policies=size, **memory)
    engine = benchmark.pedantic(
        lambda: Engine.from_path(orgs[str(size)], evaluator="compiled"), rounds=1, iterations=1
    )
    assert len(engine.snapshot.plans) == memory["plan_targets"]


def _edit_domain(root: Path, round_: int) -> None:
    """A new policy in one domain: only that domain's revision changes."""
    path = root / "domains" / "d007" / "access" / "extra.cedar"
    path.write_text(
        f'@id("extra")\npermit(principal in Group::"d007-g{round_ % 8}", action == '
        'Action::"read", resource in Domain::"d007");\n'
    )


def _edit_global(root: Path, round_: int) -> None:
    path = root / "global" / "access" / "extra.cedar"
    path.write_text(f'@id("extra")\npermit(principal in Group::"g{round_}", action, resource);\n')


EDITS = {"one domain": _edit_domain, "global layer": _edit_global}


def _reread(engine: Engine, root: Path) -> None:
    """A reload as the previous release made it: the whole tree read and parsed again (no
    previous tree given), the snapshot still rebuilt incrementally; for the same-run ratio."""
    tree, problems = load_tree(root, tree_relative=True)
    assert tree is not None
    build_snapshot(tree, problems, engine.snapshot.evaluator_name, engine.snapshot)


@pytest.mark.parametrize("reuse", ["files", "no files"])
@pytest.mark.parametrize("edit", list(EDITS))
@pytest.mark.parametrize("size", [1000, 10000])
def test_reload(
    benchmark: Any, orgs: dict[str, Path], tmp_path: Path, size: int, edit: str, reuse: str
) -> None:
    """Engine.reload after one domain changed (incremental: only the changed files are parsed,
    that domain's slices and plans rebuilt) or after the global layer changed (everything is);
    `no files` reads and parses the whole tree again, as before files were reused."""
    root = tmp_path / "tree"
    shutil.copytree(orgs[str(size)], root)
    engine = Engine.from_path(root)
    rounds = iter(range(1000))

    def setup() -> tuple[tuple[()], dict[str, Any]]:
        EDITS[edit](root, next(rounds))
        return (), {}

    def run() -> None:
        engine.reload(root) if reuse == "files" else _reread(engine, root)

    benchmark.group = f"reload:{size}"
    benchmark.extra_info.update(policies=size, edit=edit, reuse=reuse)
    # A warm-up round first: the copy was just written, so the first reload finds the files
    # too new to trust their listing (docs/reload.md) and reads them all, once.
    benchmark.pedantic(run, setup=setup, rounds=3 if size <= 1000 else 2, warmup_rounds=1)
    if reuse == "files":
        expected = {"d007"} if edit == "one domain" else None
        assert engine.snapshot.rebuilt == expected


@pytest.mark.parametrize("edit", list(EDITS))
@pytest.mark.parametrize("size", [1000, 10000])
def test_rebuild_snapshot(
    benchmark: Any, orgs: dict[str, Path], tmp_path: Path, size: int, edit: str
) -> None:
    """The snapshot part of a reload alone (the tree already read): what incremental saves."""
    root = tmp_path / "tree"
    shutil.copytree(orgs[str(size)], root)
    previous = Engine.from_path(root).snapshot
    EDITS[edit](root, 1)
    tree, problems = load_tree(root)
    assert tree is not None
    benchmark.group = f"rebuild:{size}"
    benchmark.extra_info.update(policies=size, edit=edit)
    snapshot = benchmark.pedantic(
        lambda: build_snapshot(tree, problems, "compiled", previous),
        rounds=3 if size <= 1000 else 1,
    )
    assert snapshot.rebuilt == ({"d007"} if edit == "one domain" else None)
