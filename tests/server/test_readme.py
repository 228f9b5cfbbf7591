"""The README's curl examples for `govern serve`, run with curl against a real server."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from tests.server.conftest import ROOT

pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")


def examples() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    block = re.search(
        r"<!-- serve-examples.*?```sh\n(.*?)```\n<!-- /serve-examples -->", readme, re.S
    )
    assert block, "the README's serve examples are missing"
    lines = [line for line in block.group(1).splitlines() if not line.startswith("#")]
    commands = re.split(r"\n(?=curl )", "\n".join(lines).strip())
    assert len(commands) == 4
    return commands


def run(server, command: str):
    host = str(server.base_url).removeprefix("http://").rstrip("/")
    assert "localhost:8181" in command
    done = subprocess.run(
        ["bash", "-c", command.replace("localhost:8181", host)],
        capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip
    return json.loads(done.stdout)


def test_the_readme_curl_examples_answer_as_shown(server):
    evaluation, search, trino_allow, trino_masks = (run(server, c) for c in examples())

    assert evaluation["decision"] is True
    assert evaluation["context"]["policies"] == ["people/partners-read"]
    (obligation,) = evaluation["context"]["obligations"]
    assert obligation["type"] == "custom"
    assert obligation["properties"]["column"] == "base_salary"
    assert obligation["properties"]["strategy"]["name"] == "redact"

    assert search["page"]["count"] == 2 and search["page"]["total"] == 4
    assert search["page"]["next_token"]
    assert search["results"][0] == {"type": "DataProduct", "id": "marketing.campaign_performance"}

    assert trino_allow["result"] is True and trino_allow["decision_id"]

    (mask,) = trino_masks["result"]
    assert mask["index"] == 1
    assert mask["viewExpression"]["expression"].startswith(
        'CAST(CASE WHEN length(CAST("payment_card_number" AS varchar)) > 4 THEN lpad('
    )
