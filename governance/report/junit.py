"""JUnit XML: one test case per check and one per policy test, for CI test-report tabs."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from governance.errors import Problem
from governance.tools.check import CHECKS, CheckReport, TestOutcome
from governance.tools.policy_tests import CaseResult


def render_check_junit(report: CheckReport) -> str:
    root = ET.Element("testsuites", name=f"govern check {report.path}")
    suite = ET.SubElement(root, "testsuite", name="govern.check")
    by_code: dict[str, list[Problem]] = {}
    for problem in report.problems:
        by_code.setdefault(problem.code, []).append(problem)
    codes = [*report.checks, *(c for c in by_code if c not in report.checks)]
    for code in codes:
        if code == "test-failed":
            continue
        case = ET.SubElement(
            suite, "testcase", classname="govern.check", name=f"{code}: {CHECKS.get(code, code)}"
        )
        failing = [p for p in by_code.get(code, []) if report.fails(p)]
        passing = [p for p in by_code.get(code, []) if not report.fails(p)]
        if failing:
            failure = ET.SubElement(
                case, "failure", type=code, message=f"{len(failing)} problem(s): {failing[0]}"
            )
            failure.text = "\n".join(str(p) for p in failing)
        if passing:
            ET.SubElement(case, "system-out").text = "\n".join(str(p) for p in passing)
    _count(suite)
    if report.tests is not None:
        _test_suite(root, report.tests.results)
    _totals(root)
    return _xml(root)


def render_tests_junit(outcome: TestOutcome) -> str:
    root = ET.Element("testsuites", name="govern test")
    _test_suite(root, outcome.report.results)
    if outcome.shortfalls or outcome.report.problems:
        suite = ET.SubElement(root, "testsuite", name="govern.test")
        case = ET.SubElement(suite, "testcase", classname="govern.test", name="coverage and files")
        failures = [*outcome.shortfalls, *(str(p) for p in outcome.report.problems)]
        failure = ET.SubElement(case, "failure", type="coverage", message=failures[0])
        failure.text = "\n".join(failures)
        _count(suite)
    _totals(root)
    return _xml(root)


def _test_suite(root: ET.Element, results: list[CaseResult]) -> None:
    suites: dict[str, ET.Element] = {}
    for result in results:
        suite = suites.get(result.layer)
        if suite is None:
            suite = suites[result.layer] = ET.SubElement(
                root, "testsuite", name=f"govern.policy-tests.{result.layer}"
            )
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"govern.policy-tests.{result.layer}",
            name=result.name,
            file=result.location.file,
            line=str(result.location.line),
        )
        if not result.passed:
            failure = ET.SubElement(case, "failure", type="test-failed", message=result.failures[0])
            failure.text = f"{result.location}\n" + "\n".join(result.failures)
    for suite in suites.values():
        _count(suite)


def _count(suite: ET.Element) -> None:
    cases = suite.findall("testcase")
    suite.set("tests", str(len(cases)))
    suite.set("failures", str(sum(1 for c in cases if c.find("failure") is not None)))
    suite.set("errors", "0")
    suite.set("skipped", "0")


def _totals(root: ET.Element) -> None:
    for key in ("tests", "failures", "errors"):
        root.set(key, str(sum(int(s.get(key, "0")) for s in root.findall("testsuite"))))


def _xml(root: ET.Element) -> str:
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")
