"""CI command benchmarks: `govern check`, `govern test` and `govern diff` on the generated
1,000-policy organisation, each a whole process as CI runs it (wall time and CPU time)."""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.orggen import large_org, write_org

ROOT = Path(__file__).resolve().parents[2]
_DOMAINS = 100  # the 1k organisation: 100 domains, 500 products, 1,000 access policies

# Six personas, as docs/scale.md measures with: a steward, a contractor, four analysts.
_PERSONAS = {
    "steward": {"groups": ["data-stewards"], "clearance": 3},
    "contractor": {"groups": ["d000-g0"], "clearance": 1, "employment": "contractor"},
    **{
        f"analyst{n}": {"groups": [f"d{n:03d}-g{n}"], "clearance": 2, "department": f"d{n:03d}"}
        for n in range(4)
    },
}


def _with_fixtures_and_tests(root: Path) -> Path:
    """The generated tree plus personas, and one policy test per domain (100 cases)."""
    principals = {
        name: {"type": "User", "id": name, "properties": properties}
        for name, properties in _PERSONAS.items()
    }
    (root / "fixtures.yaml").write_text(yaml.safe_dump({"principals": principals}))
    for d in range(_DOMAINS):
        domain = f"d{d:03d}"
        case = {
            "name": f"the steward reads {domain}.p0",
            "request": {
                "principal": "steward",
                "action": "read",
                "product": f"{domain}.p0",
                "context": {"purpose": "analytics"},
            },
            "expect": {"allowed": True},
        }
        tests = root / "domains" / domain / "tests" / "access.yaml"
        tests.parent.mkdir(parents=True, exist_ok=True)
        tests.write_text(yaml.safe_dump({"cases": [case]}, sort_keys=False))
    return root


@pytest.fixture(scope="module")
def ci_trees(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The base tree and a candidate with one domain's policy file changed."""
    folder = tmp_path_factory.mktemp("ci")
    base = _with_fixtures_and_tests(write_org(folder / "base", large_org(_DOMAINS, 1000)))
    candidate = folder / "candidate"
    shutil.copytree(base, candidate)
    policies = candidate / "domains" / "d000" / "access" / "policies.cedar"
    text = policies.read_text()
    assert "sensitivity <= 2" in text  # the generator's seed gives d000 such a policy
    policies.write_text(text.replace("sensitivity <= 2", "sensitivity <= 3"))
    return base, candidate


def _run(args: list[str]) -> dict[str, float]:
    """One CI command in a fresh process: its wall time and CPU time (user + system)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "governance", *args],
        capture_output=True, text=True, env=env, timeout=900, check=False,
    )  # fmt: skip
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert done.returncode in (0, 1), done.stderr[-2000:]  # 1: findings or flips, not a crash
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall_s": wall, "cpu_s": cpu}


COMMANDS = {
    "check --no-tests": lambda base, candidate: ["check", "--no-tests", str(base)],
    "check": lambda base, candidate: ["check", str(base)],
    "test": lambda base, candidate: ["test", str(base)],
    "diff": lambda base, candidate: ["diff", str(base), str(candidate), "--format", "json"],
}


@pytest.mark.parametrize("command", COMMANDS)
def test_ci_command(benchmark: Any, ci_trees: tuple[Path, Path], command: str) -> None:
    benchmark.group = "ci:1000"
    benchmark.extra_info["evaluator"] = command
    args = COMMANDS[command](*ci_trees)
    timings: list[dict[str, float]] = []
    benchmark.pedantic(lambda: timings.append(_run(args)), rounds=2, iterations=1)
    benchmark.extra_info["cpu_s"] = round(min(t["cpu_s"] for t in timings), 2)
    benchmark.extra_info["wall_s"] = round(min(t["wall_s"] for t in timings), 2)
