"""`govern fmt DIR` skips what `.gitignore` ignores, as git does (nested files, `!`, folders)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.cli.conftest import run

UGLY = '@id("x")\npermit(principal,action,resource);\n'


def layout(root: Path) -> None:
    for name in ("access/a.cedar", "vendor/v.cedar", "build/out/b.cedar", "access/gen/g.cedar",
                 "access/gen/keep.cedar", "access/tmp.cedar"):  # fmt: skip
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(UGLY)
    (root / ".gitignore").write_text("vendor/\nbuild\n/access/tmp.cedar\n")
    (root / "access/gen/.gitignore").write_text("*.cedar\n!keep.cedar\n")


def would_change(target: Path, cwd: Path, monkeypatch: pytest.MonkeyPatch) -> set[str]:
    monkeypatch.chdir(cwd)
    result = run("fmt", "--check", str(target))
    assert result.exit_code == 1
    found = {line.removeprefix("would reformat ") for line in result.stdout.splitlines()}
    return {Path(f).resolve().relative_to(target.resolve()).as_posix() for f in found}


def test_outside_a_repository_the_trees_own_gitignore_files_count(tmp_path, monkeypatch):
    layout(tmp_path)
    assert would_change(tmp_path, tmp_path, monkeypatch) == {
        "access/a.cedar",
        "access/gen/keep.cedar",
    }


def test_in_a_repository_the_gitignore_above_the_folder_counts_and_agrees_with_git(
    tmp_path, monkeypatch
):
    repo = tmp_path / "repo"
    tree = repo / "policies"
    layout(tree)
    (repo / ".gitignore").write_text("policies/access/a.cedar\n")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    found = would_change(tree, repo / "policies" / "access", monkeypatch)
    assert found == {"access/gen/keep.cedar"}
    listed = subprocess.run(
        ["git", "-C", str(repo), "ls-files", "--others", "--exclude-standard", "policies"],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    assert {p.removeprefix("policies/") for p in listed if p.endswith(".cedar")} == found


def test_a_file_named_explicitly_is_formatted_even_if_ignored(tmp_path):
    layout(tmp_path)
    assert run("fmt", "--check", str(tmp_path / "vendor/v.cedar")).exit_code == 1
