"""Policy tests cannot pass by mistake: a misspelt action, product, column or persona, a missing
or empty `expect`, or an enumerated field outside its values is reported, never a quiet pass."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.conftest import run

CASE = """\
cases:
  - name: {name}
    request: {{principal: alice, action: {action}, product: {product}{columns}}}
    expect: {expect}
"""


def case_result(org: Path, *, name: str = "probe", action: str = "read",
                product: str = "sales.orders", columns: str = "",
                expect: str = "{allowed: false}") -> tuple[int, dict]:  # fmt: skip
    path = org / "domains/sales/tests/probe.yaml"
    text = CASE.format(name=name, action=action, product=product, columns=columns, expect=expect)
    path.write_text(text)
    result = run("test", str(org), "--format", "json")
    report = json.loads(result.stdout)
    cases = [c for c in report["cases"] if c["name"] == name]
    return result.exit_code, {"cases": cases, "problems": report.get("problems", [])}


@pytest.mark.parametrize(
    ("field", "value", "refusal"),
    [
        ("action", "raed", "unknown_action"),
        ("product", "sales.ordres", "unknown_product"),
        ("columns", ", columns: [order_idd]", "unknown_column"),
    ],
)
def test_a_misspelt_name_fails_even_when_a_deny_was_expected(org, field, value, refusal):
    code, found = case_result(org, **{field: value})
    assert code == 1
    (case,) = found["cases"]
    assert not case["passed"]
    assert any(refusal in f and "refused" in f for f in case["failures"]), case["failures"]


def test_an_unknown_persona_fails(org):
    path = org / "domains/sales/tests/probe.yaml"
    path.write_text(CASE.format(name="probe", action="read", product="sales.orders", columns="",
                                expect="{allowed: false}").replace("alice", "alicia"))  # fmt: skip
    report = json.loads(run("test", str(org), "--format", "json").stdout)
    (case,) = [c for c in report["cases"] if c["name"] == "probe"]
    assert not case["passed"] and "unknown persona `alicia`" in case["failures"][0]


def test_a_refusal_passes_only_when_the_case_expects_that_refusal(org):
    _, found = case_result(org, action="raed", expect="{reason_code: unknown_action}")
    assert found["cases"][0]["passed"], found
    _, found = case_result(org, action="raed", expect="{reason_code: unknown_product}")
    assert not found["cases"][0]["passed"]


@pytest.mark.parametrize(
    ("expect", "needle"),
    [
        ("{kind: forbiden}", "kind"),
        ("{effect: refuse}", "effect"),
        ("{}", "names nothing to check"),
        ("{allowed: null}", "names nothing to check"),
        ("{reason_code: typo}", "reason_code"),
    ],
)
def test_expectations_are_validated(org, expect, needle):
    code, found = case_result(org, expect=expect)
    assert code == 1
    errors = [p for p in found["problems"] if p["severity"] == "error"]
    assert errors and any(needle in p["message"] for p in errors), found["problems"]
    assert all(p["file"].endswith("probe.yaml") and p["line"] > 0 for p in errors)


def test_a_case_without_expect_is_an_error(org):
    path = org / "domains/sales/tests/probe.yaml"
    path.write_text("cases:\n  - name: probe\n    request: {principal: alice, action: read, "
                    "product: sales.orders}\n")  # fmt: skip
    result = run("test", str(org), "--format", "json")
    assert result.exit_code == 1
    problems = json.loads(result.stdout)["problems"]
    assert any("expect" in p["message"] and p["line"] == 2 for p in problems), problems


def test_effect_is_compared(org):
    _, found = case_result(org, expect="{effect: deny}")  # no purpose: not permitted
    assert found["cases"][0]["passed"], found
    _, found = case_result(org, expect="{effect: allow}")
    assert "effect: expected 'allow', got 'deny'" in found["cases"][0]["failures"]


def test_a_tree_that_does_not_load_says_so_in_every_format(tmp_path):
    from tests.cli.conftest import BROKEN

    tree = str(BROKEN / "bad-duration")
    text = run("test", tree)
    assert text.exit_code == 1 and "does not load: no tests were run" in text.stderr
    assert "0/0" not in text.output
    report = json.loads(run("test", tree, "--format", "json").stdout)
    assert report["loaded"] is False and report["ok"] is False
    assert any(p["code"] == "bad-duration" for p in report["problems"])
