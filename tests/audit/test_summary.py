"""`govern audit summary`: counts that match the records, JSON, and the HTML page in real Chromium."""

from __future__ import annotations

import collections
import tracemalloc
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner

from governance import Engine
from governance.audit.lines import read_lines
from governance.audit.summary import summarise
from governance.audit.verify import log_files
from governance.cli import main
from governance.logs import BackgroundLog, FileSink
from governance.report.audit import render_summary_html, render_summary_text
from tests.audit.chromium import open_page
from tests.audit.conftest import POLICIES, SIMULATED


def _records(directory: Path) -> list[dict[str, Any]]:
    found = []
    for path in log_files([directory]):
        for line in read_lines(path):
            record = orjson.loads(line)
            if "decision_id" in record:
                found.append(record)
    return found


def _by(records: list[dict[str, Any]], key: Any) -> dict[str, tuple[int, int]]:
    total: collections.Counter[str] = collections.Counter()
    denied: collections.Counter[str] = collections.Counter()
    for record in records:
        for k in key(record):
            total[k] += 1
            denied[k] += not record["result"]["allowed"]
    return {k: (total[k], denied[k]) for k in total}


def _table(summary: Any, name: str) -> dict[str, tuple[int, int]]:
    return {r.key: (r.decisions, r.denied) for r in summary.table(name).rows}


def test_summary_counts_match_the_records(simulated_log: Path) -> None:
    records = _records(simulated_log)
    summary = summarise([simulated_log], top=1000)
    assert summary.records == len(records) == SIMULATED
    assert summary.denied == sum(not r["result"]["allowed"] for r in records)
    assert summary.refused == sum("reason_code" in r["result"] for r in records) > 0
    assert _table(summary, "by_domain") == _by(
        records, lambda r: [r["result"]["domain"] or "(no domain)"]
    )
    assert _table(summary, "by_product") == _by(records, lambda r: [r["input"]["resource"]["id"]])
    assert _table(summary, "by_action") == _by(records, lambda r: [r["input"]["action"]["name"]])
    assert _table(summary, "top_policies") == _by(
        records, lambda r: [p["id"] for p in r["result"]["policies"]]
    )
    assert _table(summary, "refusals") == _by(
        records, lambda r: [r["result"]["reason_code"]] if "reason_code" in r["result"] else []
    )
    denies = {
        k: v for k, v in _by(records, lambda r: [r["input"]["subject"]["id"]]).items() if v[1]
    }
    assert _table(summary, "top_denied_principals") == denies
    hours = _table(summary, "deny_rate_over_time")
    assert summary.bucket == "hour" and 40 <= len(hours) <= 49  # two days of traffic
    assert sum(n for n, _ in hours.values()) == SIMULATED
    effects = _table(summary, "by_effect")
    assert set(effects) == {"allow (permitted)", "deny (forbidden)", "deny (not_permitted)",
                            "deny (refused)"}  # fmt: skip
    assert summary.skips.count == 0


def test_top_limits_and_orders_by_count(simulated_log: Path) -> None:
    summary = summarise([simulated_log], top=3, bucket="day")
    policies = summary.table("top_policies").rows
    assert len(policies) == 3
    assert [r.decisions for r in policies] == sorted((r.decisions for r in policies), reverse=True)
    principals = summary.table("top_denied_principals").rows
    assert len(principals) == 3 and principals[0].denied >= principals[-1].denied
    assert summary.bucket == "day" and len(summary.table("deny_rate_over_time").rows) in (2, 3)


def test_cli_text_json_and_html(simulated_log: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    page = tmp_path / "report.html"
    text = runner.invoke(main, ["audit", "summary", str(simulated_log), "--html", str(page)])
    assert text.exit_code == 0, text.output
    assert "Decisions by domain" in text.output and "Refusals by reason code" in text.output
    assert f"{SIMULATED:,} decisions" in text.output
    assert page.stat().st_size > 1_000_000  # plotly.js is inlined
    done = runner.invoke(main, ["audit", "summary", str(simulated_log), "--format", "json"])
    data = orjson.loads(done.stdout)
    assert data["records"] == SIMULATED and data["skipped"]["count"] == 0
    assert {d["key"] for d in data["by_domain"]} >= {"sales", "finance", "marketing", "people"}


def test_html_report_renders_in_chromium(simulated_log: Path, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    summary = summarise([simulated_log])
    page.write_text(render_summary_html(summary), encoding="utf-8")
    assert "<script src=" not in page.read_text()  # nothing to fetch: readable offline
    dom, console = open_page(page)
    assert console == []
    charts = dom.count('class="plotly-graph-div')
    assert charts == len([t for t in summary.tables if t.rows]) == 8
    assert dom.count('class="main-svg"') >= charts  # plotly drew every chart as SVG
    assert "Decisions by domain" in dom and f"{SIMULATED:,} decisions" in dom


@pytest.fixture
def engine_tmp(tmp_path: Path) -> Path:
    """A log whose principals and purposes are markup: HTML in one, rich markup in another."""
    directory = tmp_path / "hostile"
    log = BackgroundLog(FileSink(directory))
    engine = Engine.from_path(POLICIES, log=log)
    for principal in ("<img src=x onerror=console.error('xss')>", "[red]alarm[/red]"):
        engine.decide({
            "subject": {"type": "User", "id": principal, "properties": {"groups": []}},
            "action": {"name": "read"},
            "resource": {"type": "DataProduct", "id": "sales.customers"},
            "context": {},
        })  # fmt: skip
    log.close()
    return directory


def test_hostile_names_stay_text_in_html_and_terminal(engine_tmp: Path, tmp_path: Path) -> None:
    summary = summarise([engine_tmp])
    page = tmp_path / "report.html"
    page.write_text(render_summary_html(summary), encoding="utf-8")
    dom, console = open_page(page)
    assert console == []  # the onerror handler never ran
    assert "<img" not in dom.split("<main>", 1)[1].split("</main>")[0].replace("&lt;img", "")
    assert "[red]" in render_summary_text(summary)  # rich markup in data is printed, not applied


def test_skipped_lines_are_counted_and_shown(simulated_log: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.jsonl"
    first = next(iter(log_files([simulated_log])))
    lines = first.read_bytes().splitlines(keepends=True)
    broken.write_bytes(b"".join(lines[:5]) + b"not json\n" + lines[5][:40])
    summary = summarise([broken])
    assert summary.records == 4 and summary.skips.count == 2
    assert summary.skips.examples == ["broken.jsonl:6: not a JSON line",
                                      "broken.jsonl:7: truncated last line"]  # fmt: skip
    result = CliRunner().invoke(main, ["audit", "summary", str(broken)])
    assert "skipped 2 unreadable lines" in result.stderr
    assert "skipped 2 unreadable lines" in render_summary_text(summary)


def test_summary_streams(simulated_log: Path) -> None:
    """Python holds one batch of records at a time (DuckDB spills to disk): peak allocations
    stay well below the bytes read, where holding the records would take several times more."""
    passes = 5
    size = passes * sum(p.stat().st_size for p in log_files([simulated_log]))
    tracemalloc.start()
    try:
        summary = summarise([simulated_log] * passes)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert summary.records == passes * SIMULATED
    assert peak < size / 2
