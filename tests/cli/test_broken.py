"""Every broken fixture tree is reported precisely: the exact (file, line, column, code) set and
the exit code stated in its `expected.yaml`, and never a traceback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.cli.conftest import BROKEN, TODAY, run

FIXTURES = sorted(p.parent for p in BROKEN.glob("*/expected.yaml"))


def _relative(file: str, root: Path) -> str:
    path = Path(file)
    absolute = path if path.is_absolute() else Path.cwd() / path
    relative = absolute.resolve().relative_to(root.resolve())
    return relative.as_posix() if str(relative) != "." else "."


def reported(report: dict[str, Any], root: Path) -> set[tuple[str, int, int, str]]:
    found = {
        (_relative(p["file"], root), p["line"], p["column"], p["code"]) for p in report["problems"]
    }
    for case in (report["tests"] or {}).get("cases", []):
        if not case["passed"]:
            found.add((_relative(case["file"], root), case["line"], case["column"], "test-failed"))
    return found


def test_every_kind_has_a_fixture() -> None:
    kinds = {p.name for p in FIXTURES}
    wanted = {
        "cedar-syntax", "cedar-schema", "missing-id", "duplicate-id", "scope-violation",
        "unknown-action", "unknown-product", "unknown-level", "below-global-floor",
        "retention-conflict", "bad-duration", "overridden-by-locked-rule",
        "waiver-unknown-policy", "not-waivable", "waiver-expired", "waiver-expiring",
        "dead-policy", "test-failed", "broken-yaml", "binary-file", "empty-directory",
        "missing-schema",
    }  # fmt: skip
    assert wanted <= kinds


@pytest.mark.parametrize("root", FIXTURES, ids=[p.name for p in FIXTURES])
def test_broken_fixture_is_reported_precisely(root: Path) -> None:
    expected = yaml.safe_load((root / "expected.yaml").read_text())
    args = [str(a) for a in expected.get("args", [])]
    result = run("check", str(root), "--format", "json", "--today", TODAY, *args)
    report = json.loads(result.stdout)
    wanted = {(p["file"], p["line"], p["column"], p["code"]) for p in expected["problems"]}
    assert reported(report, root) == wanted
    assert result.exit_code == expected["exit"]


@pytest.mark.parametrize(
    "root",
    [p for p in FIXTURES if yaml.safe_load((p / "expected.yaml").read_text())["exit"] == 0],
    ids=lambda p: p.name,
)
def test_strict_turns_each_warning_fixture_into_a_failure(root: Path) -> None:
    expected = yaml.safe_load((root / "expected.yaml").read_text())
    args = [str(a) for a in expected.get("args", [])]
    result = run("check", str(root), "--today", TODAY, "--strict", "--no-color", *args)
    assert result.exit_code == 1
    assert "error[" in result.stdout and "warning[" not in result.stdout


def test_text_output_names_file_line_column_and_code() -> None:
    result = run("check", str(BROKEN / "cedar-syntax"), "--no-color")
    line = result.stdout.splitlines()[0]
    assert line.endswith("domains/sales/access/grants.cedar:9:1: error[cedar-syntax]: "
                         "unexpected token `resource`")  # fmt: skip


def test_a_truly_empty_directory_is_one_clear_message(tmp_path: Path) -> None:
    result = run("check", str(tmp_path), "--no-color")
    assert result.exit_code == 1
    [message, summary] = result.stdout.splitlines()
    assert "not-a-tree" in message and "not a policy tree" in message
    assert "FAILED" in summary


def test_a_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    result = run("check", str(tmp_path / "nowhere"))
    assert result.exit_code == 2
    assert "does not exist" in result.stderr
    assert "Traceback" not in result.output


def test_a_file_instead_of_a_tree_is_a_usage_error(tmp_path: Path) -> None:
    file = tmp_path / "policy.cedar"
    file.write_text("permit(principal, action, resource);")
    result = run("check", str(file))
    assert result.exit_code == 2
    assert "is a file" in result.stderr


@pytest.mark.parametrize("command", ["test", "demo"])
def test_other_commands_on_a_broken_tree_exit_1_without_traceback(command: str) -> None:
    result = run(command, str(BROKEN / "broken-yaml"))
    assert result.exit_code == 1
    assert "domain.yaml:3:8" in result.output
    assert "Traceback" not in result.output
