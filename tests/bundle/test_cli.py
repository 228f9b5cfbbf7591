"""The bundle verbs end to end: keygen, build (refusing a failing tree), verify, inspect, and the
gateway example script."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

from click.testing import CliRunner

from governance.cli import main
from tests.bundle.conftest import POLICIES

REPO = POLICIES.parent


def test_keygen_build_verify_inspect(tmp_path):
    runner = CliRunner()
    keys = tmp_path / "keys"
    result = runner.invoke(main, ["bundle", "keygen", "central", "--out", str(keys)])
    assert result.exit_code == 0 and "ed25519:" in result.output
    assert oct((keys / "central.key").stat().st_mode & 0o777) == "0o600"
    again = runner.invoke(main, ["bundle", "keygen", "central", "--out", str(keys)])
    assert again.exit_code == 2 and "already exists" in again.output
    out = tmp_path / "out"
    built = runner.invoke(
        main, ["bundle", "build", str(POLICIES), "--out", str(out), "--layer", "global",
               "--signing-key", f"global={keys / 'central.key'}"],
    )  # fmt: skip
    assert built.exit_code == 0, built.output
    assert [p.name for p in out.iterdir()] == ["global.tar.gz"]
    trust = tmp_path / "trust.yaml"
    trust.write_text(
        "keys:\n  - name: central\n    public_key_file: keys/central.pub\n    layers: [global]\n"
    )
    verified = runner.invoke(main, ["bundle", "verify", str(out), "--trust", str(trust)])
    assert verified.exit_code == 0 and "ok  global.tar.gz" in verified.output
    trust.write_text(
        "keys:\n  - name: central\n    public_key_file: keys/central.pub\n    layers: [sales]\n"
    )
    refused = runner.invoke(main, ["bundle", "verify", str(out), "--trust", str(trust)])
    assert (
        refused.exit_code == 1 and "REFUSED" in refused.output and "not `global`" in refused.output
    )
    shown = runner.invoke(main, ["bundle", "inspect", str(out / "global.tar.gz")])
    assert json.loads(shown.output)["manifest"]["layer"] == "global"


def test_build_refuses_a_tree_that_fails_its_checks(tmp_path):
    tree = tmp_path / "tree"
    shutil.copytree(POLICIES, tree)
    (tree / "domains/sales/access/grants.cedar").write_text("permit (principal, action")
    result = CliRunner().invoke(main, ["bundle", "build", str(tree), "--out", str(tmp_path / "o")])
    assert result.exit_code == 1 and "cedar-syntax" in result.output
    assert not (tmp_path / "o").exists()


def test_the_gateway_example_refuses_a_tampered_copy_and_keeps_serving():
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    run = subprocess.run(
        [sys.executable, "examples/bundle_gateway.py"], cwd=REPO, env=env,
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    assert "does not match its signed digest" in run.stdout
    assert run.stdout.count("allowed by people policy `people/partners-read`") == 2
