"""The glue a platform team copies: pre-commit hooks, the CI example and the docs stay in sync."""

from __future__ import annotations

import yaml

from governance.cli import main
from governance.tools.check import CHECKS
from tests.cli.conftest import REPO


def test_pre_commit_hooks_run_check_and_fmt_check() -> None:
    hooks = {h["id"]: h for h in yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())}
    assert hooks["govern-check"]["entry"] == "govern check"
    assert hooks["govern-check"]["pass_filenames"] is False
    assert hooks["govern-fmt"]["entry"] == "govern fmt --check"
    for hook in hooks.values():
        assert hook["entry"].split()[1] in main.commands  # type: ignore[attr-defined]


def test_the_workflow_example_runs_check_for_github_and_posts_the_diff() -> None:
    workflow = yaml.safe_load((REPO / "examples" / "github-workflow.yml").read_text())
    steps = workflow["jobs"]["govern"]["steps"]
    commands = "\n".join(step.get("run", "") for step in steps)
    assert "govern check policies --format github" in commands
    assert "--format markdown" in commands and "gh pr comment" in commands


def test_the_ci_guide_documents_every_check_code_and_command() -> None:
    guide = (REPO / "docs" / "ci.md").read_text()
    for code in CHECKS:
        assert f"`{code}`" in guide
    for command in ("check", "test", "decide", "diff", "fmt", "init"):
        assert f"### `govern {command}" in guide
