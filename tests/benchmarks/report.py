"""Turn a pytest-benchmark JSON file into the README's performance table (ratios from one run).

python -m tests.benchmarks.report .benchmarks/latest.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def _by_group(benchmarks: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    groups: dict[str, dict[str, dict[str, Any]]] = {}
    for bench in benchmarks:
        evaluator = bench["extra_info"].get("evaluator", bench["name"])
        groups.setdefault(bench["group"] or "", {})[evaluator] = bench
    return groups


def decision_table(data: dict[str, Any]) -> str:
    rows = [
        "| organisation | policies | govern compiled p50 | govern reference p50 | plain cedarpy p50 | compiled vs cedarpy |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for group, members in _by_group(data["benchmarks"]).items():
        if not group.startswith("decide:") or "compiled" not in members or "cedarpy" not in members:
            continue
        compiled, cedar = (
            members["compiled"]["stats"]["median"],
            members["cedarpy"]["stats"]["median"],
        )
        reference = members.get("reference", {}).get("stats", {}).get("median")
        org = group.removeprefix("decide:")
        policies = members["compiled"]["extra_info"].get("policies", "")
        rows.append(
            f"| {org} | {policies} | {_us(compiled)} | {_us(reference)} | {_us(cedar)} | "
            f"{cedar / compiled:.0f}x faster |"
        )
    return "\n".join(rows)


def allowed_table(data: dict[str, Any]) -> str:
    rows = [
        "| organisation | policies | govern compiled p50 | govern reference p50 |",
        "|---|---:|---:|---:|",
    ]
    for group, members in _by_group(data["benchmarks"]).items():
        if not group.startswith("allowed:") or "compiled" not in members:
            continue
        reference = members.get("reference", {}).get("stats", {}).get("median")
        policies = members["compiled"]["extra_info"].get("policies", "")
        rows.append(
            f"| {group.removeprefix('allowed:')} | {policies} | "
            f"{_us(members['compiled']['stats']['median'])} | {_us(reference)} |"
        )
    return "\n".join(rows)


def cliff_table(data: dict[str, Any]) -> str:
    """Each cliff beside its small case (the group's first member, by name), from one run."""
    rows = ["| cliff | case | median | vs small case |", "|---|---|---:|---:|"]
    for group, members in _by_group(data["benchmarks"]).items():
        if not group.startswith("cliff:"):
            continue
        small = {"cliff:groups": "dict-3", "cliff:waivers": "waivers-3"}.get(group)
        base = members.get(small or "", {}).get("stats", {}).get("median")
        for case, bench in sorted(members.items()):
            median = bench["stats"]["median"]
            ratio = f"{median / base:.1f}x" if base else "-"
            rows.append(f"| {group.removeprefix('cliff:')} | {case} | {_us(median)} | {ratio} |")
    return "\n".join(rows)


def research_table(data: dict[str, Any]) -> str:
    """Standalone `authorize` on the research workload beside the hand-written function and
    cedarpy, per size (`tests/benchmarks/test_research_bench.py`)."""
    rows = [
        "| policies | hand-written p50 | compiled `authorize` p50 | cedarpy p50 | vs hand-written | cedarpy vs compiled |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for group, members in _by_group(data["benchmarks"]).items():
        if not group.startswith("research:") or "authorize" not in members:
            continue
        ours = members["authorize"]["stats"]["median"]
        hand = members.get("hand-written", {}).get("stats", {}).get("median")
        cedar = members.get("cedarpy", {}).get("stats", {}).get("median")
        rows.append(
            f"| {group.removeprefix('research:')} | {_us(hand)} | {_us(ours)} | {_us(cedar)} | "
            f"{_ratio(ours, hand)} | {_ratio(cedar, ours)} |"
        )
    return "\n".join(rows)


def one_domain_table(data: dict[str, Any]) -> str:
    """Full decisions with every policy in one domain, each size against the 10-policy one."""
    found = {
        bench["params"]["size"]: bench["stats"]["median"]
        for bench in data["benchmarks"]
        if bench["group"] == "decide:one-domain" and bench.get("params")
    }
    rows = ["| policies in the domain | govern compiled p50 | vs 10 policies |", "|---:|---:|---:|"]
    base = found.get(10)
    for size, median in sorted(found.items()):
        rows.append(f"| {size:,} | {_us(median)} | {_ratio(median, base)} |")
    return "\n".join(rows)


def _ratio(numerator: float | None, denominator: float | None) -> str:
    return "-" if not numerator or not denominator else f"{numerator / denominator:.1f}x"


def other_table(data: dict[str, Any]) -> str:
    rows = ["| benchmark | group | median |", "|---|---|---:|"]
    for bench in data["benchmarks"]:
        if not (bench["group"] or "").startswith(("decide:", "allowed:", "cliff:", "research:")):
            median = bench["stats"]["median"]
            shown = f"{median:.2f} s" if median > 0.5 else _us(median)
            rows.append(f"| {bench['name']} | {bench['group']} | {shown} |")
    return "\n".join(rows)


def load_table(data: dict[str, Any]) -> str:
    rows = [
        "| policies | load | resident after load | peak | plan targets | distinct plans |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for bench in data["benchmarks"]:
        info = bench["extra_info"]
        if bench["group"] == "load" and "rss_mb" in info:
            rows.append(
                f"| {info['policies']:,} | {bench['stats']['median']:.2f} s | {info['rss_mb']} MB | "
                f"{info['peak_mb']} MB | {info['plan_targets']:,} | {info['distinct_plans']:,} |"
            )
    return "\n".join(rows)


def stall_table(data: dict[str, Any]) -> str:
    rows = [
        "| case | policies | decisions | longest gap | p99.9 gap | longest collection |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for bench in data["benchmarks"]:
        info = bench["extra_info"]
        if bench["group"] == "stalls" and "longest_gap_ms" in info:
            collection = info.get("longest_collection_ms")
            rows.append(
                f"| {info['case']} | {info['policies']:,} | {info['decisions']:,} | "
                f"{info['longest_gap_ms']} ms | {info['p999_gap_ms']} ms | "
                f"{'-' if collection is None else f'{collection} ms'} |"
            )
    return "\n".join(rows)


def ci_table(data: dict[str, Any]) -> str:
    """CI commands on the 1k organisation, each a fresh process (the best of its rounds)."""
    rows = ["| command (1k organisation) | wall | CPU |", "|---|---:|---:|"]
    for bench in data["benchmarks"]:
        info = bench["extra_info"]
        if bench["group"] == "ci:1000" and "cpu_s" in info:
            rows.append(
                f"| `govern {info['evaluator']}` | {info['wall_s']} s | {info['cpu_s']} s |"
            )
    return "\n".join(rows)


def _us(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1e6:,.1f} µs"


def main(path: str) -> None:
    data = json.loads(Path(path).read_text())
    machine = data.get("machine_info", {})
    print(f"Measured {data.get('datetime', '')[:10]} on {machine.get('cpu', {}).get('brand_raw', 'unknown CPU')}, "
          f"Python {machine.get('python_version', '')}.\n")  # fmt: skip
    print(decision_table(data))
    print()
    print(allowed_table(data))
    print()
    print(load_table(data))
    print()
    print(stall_table(data))
    print()
    print(ci_table(data))
    print()
    print(cliff_table(data))
    print()
    print(research_table(data))
    print()
    print(one_domain_table(data))
    print()
    print(other_table(data))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".benchmarks/latest.json")
