"""The JSON forms of check and test reports: stable field names for scripts and dashboards."""

from __future__ import annotations

from typing import Any

from governance.tools.check import CheckReport, TestOutcome
from governance.tools.policy_tests import CaseResult, Coverage, TestReport


def check_to_dict(report: CheckReport) -> dict[str, Any]:
    return {
        "path": report.path,
        "ok": report.exit_code == 0,
        "exit_code": report.exit_code,
        "strict": report.strict,
        "errors": len(report.errors),
        "warnings": len(report.warnings),
        "problems": [
            {**p.to_dict(), "severity": "error" if report.fails(p) else p.severity}
            for p in report.problems
        ],
        "tests": None if report.tests is None else _tests(report.tests),
    }


def tests_to_dict(outcome: TestOutcome) -> dict[str, Any]:
    return {
        "ok": outcome.exit_code == 0,
        "exit_code": outcome.exit_code,
        "loaded": outcome.report.loaded,  # false: the tree did not load and no test ran
        "min_coverage": outcome.min_coverage,
        "coverage_shortfalls": outcome.shortfalls,
        "problems": [p.to_dict() for p in outcome.report.problems],
        **_tests(outcome.report),
    }


def _tests(report: TestReport) -> dict[str, Any]:
    results = report.results
    return {
        "total": len(results),
        "passed": sum(r.passed for r in results),
        "failed": sum(not r.passed for r in results),
        "cases": [_case(r) for r in results],
        "coverage": coverage_to_dict(report.coverage),
    }


def _case(result: CaseResult) -> dict[str, Any]:
    decision = result.decision
    return {
        "layer": result.layer,
        "name": result.name,
        "file": result.location.file,
        "line": result.location.line,
        "column": result.location.column,
        "passed": result.passed,
        "failures": list(result.failures),
        "kind": None if decision is None else decision.access.kind,
        "policies": [] if decision is None else [p.id for p in decision.access.policies],
    }


def coverage_to_dict(coverage: Coverage) -> dict[str, Any]:
    return {
        "policy_share": round(coverage.policy_share, 2),
        "pair_share": round(coverage.pair_share, 2),
        "layers": {
            layer: {
                "policies": len(ids),
                "determined": len(ids & coverage.exercised),
                "never_determined": sorted(ids - coverage.exercised),
            }
            for layer, ids in coverage.policies.items()
        },
        "pairs_missing": [
            {"domain": d, "action": a} for d, a in sorted(coverage.pairs_total - coverage.pairs_hit)
        ],
    }
