"""Users files fail closed with located messages; demo data covers every relation and exits."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from governance.cli import main
from governance.gateway.identity import UsersFileError, load_users
from tests.gateway.conftest import ROOT


def test_fixtures_file_serves_as_users_file() -> None:
    users = load_users(ROOT / "policies" / "fixtures.yaml")
    assert users["dave"].groups == ("hr-partners",)
    assert users["dave"].attributes["clearance"] == 3


def test_users_mapping(tmp_path: Path) -> None:
    path = tmp_path / "users.yaml"
    path.write_text("users:\n  zoe: {groups: [sales-analysts], clearance: 1}\n")
    assert load_users(path)["zoe"].groups == ("sales-analysts",)


@pytest.mark.parametrize(
    "text",
    [
        "[1, 2]",
        "users: 3",
        "users:\n  zoe: 5\n",
        "users:\n  zoe: {groups: admin}\n",
        "users: {a: [}",
    ],
)
def test_bad_users_files_are_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "users.yaml"
    path.write_text(text)
    with pytest.raises(UsersFileError, match=r"users\.yaml"):
        load_users(path)


def test_demo_data_writes_every_relation_and_exits(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        ["gateway", "--policies", str(ROOT / "policies"), "--demo-data", "--data", str(tmp_path)],
    )
    assert result.exit_code == 0, result.output
    files = sorted(tmp_path.glob("*/*.parquet"))
    assert len(files) == 17
    ibans = pq.read_table(tmp_path / "people" / "payroll.parquet").column("bank_iban").to_pylist()
    assert all(iban[:2].isalpha() and iban[2:4].isdigit() for iban in ibans)


def test_make_demo_gateway_step_exits_and_leaves_nothing_running(tmp_path: Path) -> None:
    """The gateway line of `make demo`, run as written (with this checkout's Python): it ends
    on its own, and no process of its session is left behind."""
    recipe = (ROOT / "Makefile").read_text().split("\ndemo:", 1)[1].split("\n\n", 1)[0]
    (line,) = [line.strip() for line in recipe.splitlines() if "gateway" in line]
    args = shlex.split(line.replace("$(BIN)/govern", "govern"))[1:]
    args[args.index("--data") + 1] = str(tmp_path / "demo-data")
    process = subprocess.Popen(
        [sys.executable, "-m", "governance", *args], cwd=ROOT, start_new_session=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    assert b"Parquet files" in out
    with pytest.raises(ProcessLookupError):
        os.killpg(process.pid, 0)  # the session's process group is empty
