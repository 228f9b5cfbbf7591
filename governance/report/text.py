"""Plain-text reports for people at a terminal; ANSI colour only when the caller asks for it."""

from __future__ import annotations

from governance.errors import Problem
from governance.tools.check import CheckReport, TestOutcome
from governance.tools.policy_tests import CaseResult, Coverage

_STYLES = {"error": "31;1", "warning": "33", "pass": "32", "fail": "31;1", "dim": "2"}


def paint(text: str, style: str, color: bool) -> str:
    return f"\x1b[{_STYLES[style]}m{text}\x1b[0m" if color else text


def problem_line(problem: Problem, failing: bool, color: bool) -> str:
    severity = "error" if failing else problem.severity
    return f"{problem.location}: {paint(f'{severity}[{problem.code}]', severity, color)}: " + (
        problem.message
    )


def render_check_text(report: CheckReport, *, color: bool = False, verbose: bool = False) -> str:
    lines = [problem_line(p, report.fails(p), color) for p in report.problems]
    if report.tests is not None:
        lines += _failures(report.tests.results, color, verbose)
    errors, warnings = len(report.errors), len(report.warnings)
    summary = [
        f"{errors} error{'s' if errors != 1 else ''}",
        f"{warnings} warning{'s' if warnings != 1 else ''}",
    ]
    if report.tests is not None:
        results = report.tests.results
        passed = sum(r.passed for r in results)
        summary.append(f"{passed}/{len(results)} policy tests passed")
        coverage = report.tests.coverage
        summary.append(
            f"coverage {coverage.policy_share:.0f}% of policies, "
            f"{coverage.pair_share:.0f}% of domain x action pairs"
        )
    else:
        summary.append("policy tests not run")
    verdict = paint("FAILED", "fail", color) if report.exit_code else paint("OK", "pass", color)
    lines.append(f"govern check {report.path}: {verdict}: {', '.join(summary)}")
    return "\n".join(lines)


def render_tests_text(outcome: TestOutcome, *, color: bool = False, verbose: bool = False) -> str:
    report = outcome.report
    lines = [problem_line(p, p.severity == "error", color) for p in report.problems]
    lines += _failures(report.results, color, verbose)
    lines += coverage_lines(report.coverage)
    lines += [
        paint(f"coverage below --min-coverage: {s}", "fail", color) for s in outcome.shortfalls
    ]
    passed = sum(r.passed for r in report.results)
    verdict = paint("FAILED", "fail", color) if outcome.exit_code else paint("OK", "pass", color)
    lines.append(f"{verdict}: {passed}/{len(report.results)} policy tests passed")
    return "\n".join(lines)


def _failures(results: list[CaseResult], color: bool, verbose: bool) -> list[str]:
    lines = []
    for result in results:
        if result.passed and not verbose:
            continue
        status = paint("PASS", "pass", color) if result.passed else paint("FAIL", "fail", color)
        lines.append(f"{status} {result.location} [{result.layer}] {result.name}")
        lines += [f"       {failure}" for failure in result.failures]
        if not result.passed and result.decision is not None:
            access = result.decision.access
            lines.append(
                f"       actual: {access.kind}" + ("" if access.policies else ", no policy")
            )
            lines += [
                f"         {ref.layer} {ref.effect} `{ref.id}` at {ref.location}"
                for ref in access.policies
            ]
    return lines


def coverage_lines(coverage: Coverage) -> list[str]:
    lines = ["coverage:"]
    for layer, ids in coverage.policies.items():
        hit = len(ids & coverage.exercised)
        lines.append(f"  {layer}: {hit}/{len(ids)} policies determined a decision")
        missing = sorted(ids - coverage.exercised)
        if missing:
            lines.append(f"    never determined a decision: {', '.join(missing)}")
    total, hit_pairs = len(coverage.pairs_total), len(coverage.pairs_hit & coverage.pairs_total)
    lines.append(
        f"  domain x action pairs exercised: {hit_pairs}/{total} ({coverage.pair_share:.0f}%)"
    )
    missed: dict[str, list[str]] = {}
    for domain, action in sorted(coverage.pairs_total - coverage.pairs_hit):
        missed.setdefault(domain, []).append(action)
    for domain, actions in missed.items():
        lines.append(f"    {domain}: no test for {', '.join(actions)}")
    return lines
