"""`govern check` on the example organisation, in every output format, each parsed and validated."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from governance.tools.check import CHECKS
from tests.cli.conftest import BROKEN, POLICIES, TODAY, run


def test_the_example_organisation_is_clean() -> None:
    result = run("check", str(POLICIES), "--today", TODAY, "--no-color")
    assert result.exit_code == 0, result.output
    assert " error[" not in result.stdout
    assert ": OK: 0 errors" in result.stdout.splitlines()[-1]


def test_text_has_no_colour_off_a_terminal_and_colour_on_request() -> None:
    plain = run("check", str(BROKEN / "waiver-expired"), "--today", TODAY)
    assert "\x1b[" not in plain.stdout
    painted = run("check", str(BROKEN / "waiver-expired"), "--today", TODAY, "--color")
    assert "\x1b[33mwarning[waiver-expired]\x1b[0m" in painted.stdout


def test_no_tests_skips_the_policy_tests() -> None:
    result = run("check", str(BROKEN / "test-failed"), "--no-tests", "--format", "json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["tests"] is None


def test_json_report() -> None:
    result = run("check", str(POLICIES), "--today", TODAY, "--format", "json")
    report = json.loads(result.stdout)
    assert report["ok"] is True and report["exit_code"] == 0 and report["errors"] == 0
    assert report["tests"]["failed"] == 0 and report["tests"]["passed"] > 0
    for problem in report["problems"]:
        assert set(problem) == {"file", "line", "column", "code", "severity", "message"}
        assert problem["code"] in CHECKS


def test_junit_is_valid_with_one_case_per_check_and_per_policy_test() -> None:
    result = run("check", str(BROKEN / "test-failed"), "--today", TODAY, "--format", "junit")
    assert result.exit_code == 1
    root = ET.fromstring(result.stdout)
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    checks = next(s for s in suites if s.get("name") == "govern.check")
    names = [c.get("name", "").split(":")[0] for c in checks.findall("testcase")]
    assert sorted(names) == sorted(c for c in CHECKS if c != "test-failed")
    cases = [c for s in suites if s is not checks for c in s.findall("testcase")]
    assert len(cases) == 3
    failed = [c for c in cases if c.find("failure") is not None]
    assert [c.get("name") for c in failed] == ["a sales analyst may export orders (wrong)"]
    assert failed[0].get("line") == "5"
    for suite in suites:
        assert int(suite.get("tests", "-1")) == len(suite.findall("testcase"))
        failures = sum(c.find("failure") is not None for c in suite.findall("testcase"))
        assert int(suite.get("failures", "-1")) == failures
    assert int(root.get("failures", "-1")) == 1


def test_junit_reports_each_failing_check_as_a_failure() -> None:
    result = run("check", str(BROKEN / "scope-violation"), "--format", "junit")
    root = ET.fromstring(result.stdout)
    failing = [c for c in root.iter("testcase") if c.find("failure") is not None]
    assert [c.get("name", "").split(":")[0] for c in failing] == ["scope-violation"]
    failure = failing[0].find("failure")
    assert failure is not None and "grants.cedar:9:1" in (failure.text or "")


def _validate_sarif(document: dict[str, object]) -> None:
    """The parts of SARIF 2.1.0 code-scanning UIs rely on, checked structurally."""
    assert document["version"] == "2.1.0"
    assert str(document["$schema"]).endswith("sarif-2.1.0.json")
    [run_] = document["runs"]  # type: ignore[misc]
    driver = run_["tool"]["driver"]
    assert driver["name"] == "govern" and driver["version"]
    rule_ids = [r["id"] for r in driver["rules"]]
    assert len(rule_ids) == len(set(rule_ids))
    for rule in driver["rules"]:
        assert rule["shortDescription"]["text"]
        assert rule["defaultConfiguration"]["level"] in ("error", "warning", "note")
    for result in run_["results"]:
        assert result["level"] in ("error", "warning", "note")
        assert rule_ids[result["ruleIndex"]] == result["ruleId"]
        assert result["message"]["text"]
        [location] = result["locations"]
        physical = location["physicalLocation"]
        assert (
            physical["artifactLocation"]["uri"] and "\\" not in physical["artifactLocation"]["uri"]
        )
        region = physical.get("region")
        if region is not None:
            assert region["startLine"] >= 1 and region.get("startColumn", 1) >= 1


def test_sarif_is_structurally_valid_and_locates_each_problem() -> None:
    result = run("check", str(BROKEN / "unknown-action"), "--format", "sarif")
    document = json.loads(result.stdout)
    _validate_sarif(document)
    results = document["runs"][0]["results"]
    assert {r["ruleId"] for r in results} == {"cedar-schema", "unknown-entity"}
    region = results[0]["locations"][0]["physicalLocation"]["region"]
    assert region == {"startLine": 9, "startColumn": 1}


def test_sarif_of_the_example_organisation_and_of_a_failed_test() -> None:
    for tree in (POLICIES, BROKEN / "test-failed", BROKEN / "binary-file"):
        result = run("check", str(tree), "--today", TODAY, "--format", "sarif")
        _validate_sarif(json.loads(result.stdout))
    failed = json.loads(run("check", str(BROKEN / "test-failed"), "--format", "sarif").stdout)
    [result_] = failed["runs"][0]["results"]
    assert result_["ruleId"] == "test-failed" and result_["level"] == "error"


def test_github_workflow_commands_are_escaped_and_located(tmp_path: Path) -> None:
    result = run("check", str(BROKEN / "waiver-expiring"), "--today", TODAY,
                 "--warn-expiring", "30", "--format", "github")  # fmt: skip
    first = result.stdout.splitlines()[0]
    assert first.startswith("::warning file=")
    assert ",line=2,col=5,title=govern waiver-expiring::waiver `export-for-audit` expires" in first
    strict = run("check", str(BROKEN / "waiver-expiring"), "--today", TODAY,
                 "--warn-expiring", "30", "--format", "github", "--strict")  # fmt: skip
    assert strict.stdout.startswith("::error ") and strict.exit_code == 1
    failed = run("check", str(BROKEN / "test-failed"), "--format", "github")
    command = failed.stdout.splitlines()[0]
    assert command.startswith("::error file=") and ",line=5,col=5," in command
    assert "%0Aallowed: expected True, got False" in command


def test_expiring_waivers_are_only_reported_when_asked() -> None:
    quiet = run("check", str(BROKEN / "waiver-expiring"), "--today", TODAY)
    assert "[waiver-expiring]" not in quiet.stdout and quiet.exit_code == 0
    late = run("check", str(BROKEN / "waiver-expiring"), "--today", "2026-06-25")
    assert "[waiver-expired]" in late.stdout


def test_bad_options_are_usage_errors() -> None:
    assert run("check", str(POLICIES), "--format", "xml").exit_code == 2
    assert run("check", str(POLICIES), "--warn-expiring", "-3").exit_code == 2
    assert run("check", str(POLICIES), "--today", "tomorrow").exit_code == 2
