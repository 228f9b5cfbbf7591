"""`govern fmt` (Cedar layout, --check) and `govern init` (a new domain that passes check)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from governance.tools.fmt import format_text
from tests.cli.conftest import TODAY, run

UGLY = '// Grants.\n@id("a")\npermit(principal,action==Action::"read",resource);\n'


def test_fmt_check_reports_files_that_would_change_and_leaves_them(tmp_path: Path) -> None:
    path = tmp_path / "a.cedar"
    path.write_text(UGLY)
    result = run("fmt", "--check", str(tmp_path))
    assert result.exit_code == 1
    assert result.stdout.strip() == f"would reformat {path}"
    assert path.read_text() == UGLY


def test_fmt_rewrites_then_check_is_clean(tmp_path: Path) -> None:
    path = tmp_path / "a.cedar"
    path.write_text(UGLY)
    assert run("fmt", str(path)).exit_code == 0
    formatted = path.read_text()
    assert formatted != UGLY and formatted.startswith("// Grants.\n")
    assert 'action == Action::"read"' in formatted
    assert run("fmt", "--check", str(path)).exit_code == 0
    assert format_text(formatted) == formatted


def test_fmt_leaves_invalid_cedar_alone_with_an_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.cedar"
    path.write_text("permit(principal, action resource);")
    result = run("fmt", str(path))
    assert result.exit_code == 1
    assert "bad.cedar: error: not valid Cedar" in result.stderr
    assert path.read_text() == "permit(principal, action resource);"


def test_fmt_keeps_every_comment(tmp_path: Path) -> None:
    text = (
        '@id("a") // why\npermit (principal, // who\n  action, resource) when { "x//y" == "z" };\n'
    )
    path = tmp_path / "c.cedar"
    path.write_text(text)
    assert run("fmt", str(path)).exit_code == 0
    out = path.read_text()
    assert "// why" in out and "// who" in out and '"x//y"' in out


def test_init_scaffolds_a_domain_that_passes_check(org: Path) -> None:
    result = run("init", "logistics", "--path", str(org))
    assert result.exit_code == 0, result.output
    folder = org / "domains" / "logistics"
    created = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert created == {"domain.yaml", "products/example.yaml", "access/grants.cedar",
                       "tests/access.yaml"}  # fmt: skip
    assert '@id("data-team-read")' in (folder / "access/grants.cedar").read_text()
    check = run("check", str(org), "--today", TODAY, "--format", "json")
    report = json.loads(check.stdout)
    assert check.exit_code == 0
    assert not [p for p in report["problems"] if "logistics" in p["file"]]
    logistics = [c for c in report["tests"]["cases"] if c["layer"] == "logistics"]
    assert logistics and all(c["passed"] for c in logistics)
    assert logistics[0]["policies"] == ["logistics/data-team-read"]
    assert run("fmt", "--check", str(folder)).exit_code == 0


def test_init_refuses_bad_names_existing_domains_and_non_trees(org: Path, tmp_path: Path) -> None:
    bad = run("init", "Logistics!", "--path", str(org))
    assert bad.exit_code == 2 and "domain name" in bad.stderr
    exists = run("init", "sales", "--path", str(org))
    assert exists.exit_code == 2 and "already exists" in exists.stderr
    nowhere = run("init", "logistics", "--path", str(tmp_path / "empty"))
    assert nowhere.exit_code == 2 and "not a policy tree" in nowhere.stderr


@pytest.mark.parametrize("name", ["sales-eu", "global", "logistics\n"])
def test_init_refuses_names_the_loader_would_refuse(org: Path, name: str) -> None:
    # `sales-eu` and `global` were created, then failed `govern check` as bad-domain-name.
    result = run("init", name, "--path", str(org))
    assert result.exit_code == 2 and "domain name" in result.stderr
    assert not (org / "domains" / name / "domain.yaml").exists()
