"""`govern decide` and `govern demo` on awkward input: JSON refusals, `-` as stdin, no request, no demo."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.cli.conftest import POLICIES, run


def test_refused_request_is_shown_as_json():
    result = run("decide", "--path", str(POLICIES), '{"subject": 1}')
    first = result.output.splitlines()[0]
    assert first.startswith("request ")
    assert json.loads(first.removeprefix("request ")) == {"subject": 1}


def test_dash_reads_the_request_from_stdin():
    request = {"subject": {"type": "User", "id": "x"}}
    result = run("decide", "--path", str(POLICIES), "-", input=json.dumps(request))
    assert "not valid JSON" not in result.output


def test_empty_input_says_no_request_given():
    result = run("decide", "--path", str(POLICIES), "-", input="")
    assert result.exit_code == 2
    assert "no request given" in result.output


def test_demo_without_demo_yaml_gives_a_hint(org):
    (org / "demo.yaml").unlink()
    result = run("demo", str(org))
    assert result.exit_code == 2
    assert "has no demo.yaml" in result.output and "govern check" not in result.output


def test_govern_test_on_a_tree_that_does_not_load_says_so(org):
    (org / "governance.yaml").write_text("x: [\n", encoding="utf-8")
    result = run("test", str(org))
    assert result.exit_code == 1
    assert "does not load: no tests were run" in result.output
    assert "0/0" not in result.output


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000 + b"]" * 100_000,  # RecursionError traceback
        b'{"subject": {"type": "User", "id": "d", "properties": {"clearance": 1'
        + b"0" * 5000
        + b"}}}",
        b'{"subject": {"type": "User", "id": "d", "properties": {"clearance": NaN}}}',
        b'{"subject": {"type": "User", "id": "\xff"}, "action": {"name": "read"}}',  # was decoded as U+FFFD
        b'{"subject": {"type": "User", "id": "\\ud800"}, "action": {"name": "read"}}',
    ],
    ids=["deep", "huge-number", "nan", "not-utf8", "lone-surrogate"],
)
def test_json_the_server_would_refuse_is_a_usage_error(tmp_path, body):
    # A subprocess: bytes exactly as a shell pipes them, and a traceback shows as exit code 1.
    (tmp_path / "request.json").write_bytes(body)
    for args, stdin in ((["-"], body), (["--file", str(tmp_path / "request.json")], b"")):
        result = subprocess.run(
            [sys.executable, "-m", "governance", "decide", "--path", str(POLICIES), *args],
            input=stdin, capture_output=True, timeout=120,
        )  # fmt: skip
        assert result.returncode == 2, result.stderr[-1000:]
        assert b"the request is not valid JSON" in result.stderr
        assert b"Traceback" not in result.stderr


@pytest.mark.parametrize("fmt", [["--format", "text"], ["--format", "json", "--explain"]])
def test_a_flag_of_undecodable_bytes_is_printed_escaped(fmt):
    principal = os.fsdecode(b"a\xff")  # what Python makes of such an argument
    result = subprocess.run(
        [sys.executable, "-m", "governance", "decide", "--path", str(POLICIES), "--principal",
         principal, "--action", "read", "--product", "sales.orders", *fmt],
        capture_output=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-1000:]
    assert b"a\\udcff" in result.stdout
