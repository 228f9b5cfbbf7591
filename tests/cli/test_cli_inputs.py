"""`govern decide` and `govern demo` on awkward input: JSON refusals, `-` as stdin, no request, no demo."""

from __future__ import annotations

import json

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
