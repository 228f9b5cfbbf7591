"""`govern test` (results and coverage) and `govern decide` (flags, JSON argument, file, stdin)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from tests.cli.conftest import BROKEN, POLICIES, run


def test_policy_tests_pass_and_coverage_is_shown_per_layer() -> None:
    result = run("test", str(POLICIES), "--no-color")
    assert result.exit_code == 0, result.output
    out = result.stdout
    for layer in ("global", "sales", "finance", "marketing", "people"):
        assert f"  {layer}: " in out and "policies determined a decision" in out
    assert "domain x action pairs exercised: 16/20 (80%)" in out
    assert "marketing: no test for share, write" in out
    assert out.splitlines()[-1].startswith("OK: ")


def test_min_coverage_fails_below_the_threshold() -> None:
    assert run("test", str(POLICIES), "--min-coverage", "80").exit_code == 0
    below = run("test", str(POLICIES), "--min-coverage", "90", "--no-color")
    assert below.exit_code == 1
    assert "domain x action pairs exercised: 80.0% < 90%" in below.stdout
    assert run("test", str(POLICIES), "--min-coverage", "120").exit_code == 2


def test_uncovered_policies_are_named(org: Path) -> None:
    grants = org / "domains" / "sales" / "access" / "grants.cedar"
    grants.write_text(grants.read_text() + '\n@id("unused")\npermit (principal in '
                      'Group::"nobody", action == Action::"read", resource in Domain::"sales");\n')  # fmt: skip
    result = run("test", str(org), "--format", "json")
    report = json.loads(result.stdout)
    assert report["coverage"]["layers"]["sales"]["never_determined"] == ["sales/unused"]
    assert run("test", str(org), "--min-coverage", "100").exit_code == 1


def test_a_failure_shows_expected_actual_and_the_determining_policies() -> None:
    result = run("test", str(BROKEN / "test-failed"), "--no-color")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("FAIL "))
    assert lines[start].endswith("[sales] a sales analyst may export orders (wrong)")
    assert "domains/sales/tests/access.yaml:5:5" in lines[start]
    block = "\n".join(lines[start : start + 6])
    assert "allowed: expected True, got False" in block
    assert "global forbid `global/no-pii-export` at " in block


def test_test_junit_has_one_case_per_policy_test() -> None:
    root = ET.fromstring(run("test", str(POLICIES), "--format", "junit").stdout)
    cases = list(root.iter("testcase"))
    assert len(cases) == int(root.get("tests", "0")) > 40
    assert all(c.find("failure") is None for c in cases)


def test_decide_from_flags_explains_in_a_few_lines() -> None:
    result = run("decide", "--path", str(POLICIES), "--principal", "alice", "--action", "read",
                 "--product", "sales.orders", "--purpose", "analytics")  # fmt: skip
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "alice (sales-analysts) -> read sales.orders  [purpose=analytics]"
    assert lines[1].strip() == "ALLOW  permitted by sales policy"
    assert any(line.startswith("  MASK   payment_card_number") for line in lines)
    assert len(lines) < 15


def test_decide_builds_a_principal_from_groups_and_attributes() -> None:
    result = run("decide", "--path", str(POLICIES), "--principal", "zoe", "--group",
                 "finance-controllers", "--attr", "clearance=3", "--attr", "employment=employee",
                 "--action", "read", "--product", "finance.ledger", "--format", "json")  # fmt: skip
    decision = json.loads(result.stdout)
    assert decision["allowed"] is True
    properties = decision["request"]["subject"]["properties"]
    assert properties == {"groups": ["finance-controllers"], "clearance": 3,
                          "employment": "employee"}  # fmt: skip


def test_decide_reads_json_from_argument_file_and_stdin(tmp_path: Path) -> None:
    request = {
        "subject": {"type": "User", "id": "x", "properties": {"groups": ["sales-analysts"]}},
        "action": {"name": "export"},
        "resource": {"type": "DataProduct", "id": "sales.orders"},
        "context": {"purpose": "analytics"},
    }
    text = json.dumps(request)
    path = tmp_path / "request.json"
    path.write_text(text)
    outputs = [
        run("decide", "--path", str(POLICIES), text, "--format", "json"),
        run("decide", "--path", str(POLICIES), "--file", str(path), "--format", "json"),
        run("decide", "--path", str(POLICIES), "--format", "json", input=text),
    ]
    for result in outputs:
        assert result.exit_code == 0
        decision = json.loads(result.stdout)
        assert decision["allowed"] is False and decision["access"]["kind"] == "forbidden"
    failing = run("decide", "--path", str(POLICIES), text, "--fail-on-deny")
    assert failing.exit_code == 1
    assert "forbidden by a global guardrail" in failing.stdout


def test_decide_bad_input_is_a_clear_usage_error() -> None:
    bad_json = run("decide", "--path", str(POLICIES), "{not json")
    assert bad_json.exit_code == 2 and "not valid JSON" in bad_json.stderr
    missing = run("decide", "--path", str(POLICIES), "--principal", "alice", "--action", "read")
    assert missing.exit_code == 2 and "--product is required" in missing.stderr
    pair = run("decide", "--path", str(POLICIES), "--principal", "alice", "--action", "read",
               "--product", "sales.orders", "--context", "purpose")  # fmt: skip
    assert pair.exit_code == 2 and "KEY=VALUE" in pair.stderr


def test_decide_on_an_unknown_product_is_a_reasoned_deny() -> None:
    result = run("decide", "--path", str(POLICIES), "--principal", "alice", "--action", "read",
                 "--product", "sales.nope")  # fmt: skip
    assert result.exit_code == 0
    assert "DENY   unknown product `sales.nope`" in result.stdout


def test_decide_classifies_the_read_columns_and_every_column_with_explain() -> None:
    flags = ["decide", "--path", str(POLICIES), "--principal", "alice", "--action", "read",
             "--product", "sales.orders", "--purpose", "analytics", "--column", "order_id"]  # fmt: skip
    read = json.loads(run(*flags, "--format", "json").stdout)
    assert list(read["classification"]["columns"]) == ["order_id"]
    every = json.loads(run(*flags, "--format", "json", "--explain").stdout)
    assert "payment_card_number" in every["classification"]["columns"]
    assert {k: v for k, v in every.items() if k not in ("decision_id", "classification",
            "evaluated_at", "duration_us")} == {k: v for k, v in read.items() if k not in (
            "decision_id", "classification", "evaluated_at", "duration_us")}  # fmt: skip
    text = run(*flags, "--explain").stdout
    assert "column payment_card_number: restricted [pci]" in text
    assert "column payment_card_number" not in run(*flags).stdout
