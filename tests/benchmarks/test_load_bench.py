"""Load benchmarks: a whole tree read, validated, compiled and planned, with the resident memory
of a fresh process that loaded it (`make bench` reports both beside the organisation size)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from governance import Engine

_MEASURE = """
import json, resource, sys
from governance import Engine
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
