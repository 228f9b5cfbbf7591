"""Renderers for `govern audit`: summary tables (rich), a self-contained HTML page of plotly charts, replay flips."""

from __future__ import annotations

import html
import io
from typing import Any

from governance.audit.replay import ReplayResult
from governance.audit.summary import Row, Summary, Table

_ALLOWED, _DENIED = "#2e7d32", "#c62828"


def render_summary_text(summary: Summary, *, color: bool = False, width: int = 100) -> str:
    from rich.console import Console
    from rich.table import Table as RichTable
    from rich.text import Text

    out = io.StringIO()
    console = Console(file=out, width=width, force_terminal=color, no_color=not color)
    console.print(_headline(summary), highlight=False, markup=False)
    for table in summary.tables:
        if not table.rows:
            continue
        grid = RichTable(title=table.title, title_justify="left", expand=False)
        grid.add_column(table.key_label, overflow="fold")
        for name in ("decisions", "allowed", "denied", "deny rate"):
            grid.add_column(name, justify="right")
        for row in table.rows:
            grid.add_row(
                Text(printable(row.key)), *_cells(row)
            )  # Text: markup in the data stays text
        console.print(grid)
    if summary.skips.count:
        console.print(_skipped(summary), highlight=False, markup=False)
    return out.getvalue()


def _cells(row: Row) -> list[str]:
    return [f"{row.decisions:,}", f"{row.allowed:,}", f"{row.denied:,}", f"{row.deny_rate:.1%}"]


def _headline(summary: Summary) -> str:
    rate = summary.denied / summary.records if summary.records else 0.0
    span = f" from {summary.first} to {summary.last}" if summary.first else ""
    return (
        f"{summary.records:,} decisions{span}: {summary.allowed:,} allowed, "
        f"{summary.denied:,} denied ({rate:.1%}), {summary.refused:,} refused before any policy ran"
    )


def _skipped(summary: Summary) -> str:
    shown = "; ".join(summary.skips.examples)
    return f"skipped {summary.skips.count:,} unreadable lines: {shown}"


def render_summary_html(summary: Summary) -> str:
    """One page, readable offline: plotly.js is inlined, every chart's table follows it."""
    from plotly.offline import get_plotlyjs

    sections = []
    for table in summary.tables:
        if not table.rows:
            continue
        figure = _figure(table)
        chart = figure.to_html(
            full_html=False, include_plotlyjs=False, div_id=f"chart-{table.name}"
        )
        sections.append(
            f'<section id="{table.name}"><h2>{html.escape(table.title)}</h2>'
            f'<div class="chart">{chart}</div>{_html_table(table)}</section>'
        )
    skipped = (
        f'<p class="skipped">{html.escape(_skipped(summary))}</p>' if summary.skips.count else ""
    )
    return _PAGE.format(
        plotly=get_plotlyjs(),
        headline=html.escape(_headline(summary)),
        skipped=skipped,
        sections="\n".join(sections),
    )


def _figure(table: Table) -> Any:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    keys = [r.key for r in table.rows]
    if table.name == "deny_rate_over_time":
        figure = make_subplots(specs=[[{"secondary_y": True}]])
        figure.add_trace(go.Bar(x=keys, y=[r.decisions for r in table.rows], name="decisions",
                                marker_color="#90a4ae"), secondary_y=False)  # fmt: skip
        figure.add_trace(go.Scatter(x=keys, y=[r.deny_rate for r in table.rows], name="deny rate",
                                    mode="lines", line_color=_DENIED), secondary_y=True)  # fmt: skip
        figure.update_yaxes(title_text="decisions", secondary_y=False)
        figure.update_yaxes(title_text="deny rate", tickformat=".0%", range=[0, 1.05],
                            autorange=False, secondary_y=True)  # fmt: skip
    else:
        horizontal = table.name in ("by_product", "top_policies", "top_denied_principals")
        figure = go.Figure()
        for name, values, colour in (
            ("allowed", [r.allowed for r in table.rows], _ALLOWED),
            ("denied", [r.denied for r in table.rows], _DENIED),
        ):
            x, y = (values, keys) if horizontal else (keys, values)
            figure.add_trace(go.Bar(x=x, y=y, name=name, marker_color=colour,
                                    orientation="h" if horizontal else "v"))  # fmt: skip
        figure.update_layout(barmode="stack")
        if horizontal:
            figure.update_yaxes(autorange="reversed", automargin=True)
    figure.update_layout(height=360, margin={"t": 20, "b": 30, "l": 40, "r": 40},
                         legend_orientation="h")  # fmt: skip
    return figure


def _html_table(table: Table) -> str:
    head = "".join(
        f"<th>{html.escape(h)}</th>"
        for h in (table.key_label, "decisions", "allowed", "denied", "deny rate")
    )
    body = "".join(
        f"<tr><td>{html.escape(r.key)}</td>" + "".join(f"<td>{c}</td>" for c in _cells(r)) + "</tr>"
        for r in table.rows
    )
    return f"<details><summary>table</summary><table><tr>{head}</tr>{body}</table></details>"


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>govern audit summary</title>
<script>{plotly}</script>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #222; }}
main {{ display: grid; grid-template-columns: repeat(auto-fill, minmax(560px, 1fr)); gap: 1.5rem; }}
section {{ min-width: 0; }}
h2 {{ font-size: 1.1rem; }}
table {{ border-collapse: collapse; }}
td, th {{ border: 1px solid #ccc; padding: 0.2rem 0.6rem; }}
td + td {{ text-align: right; }}
.skipped {{ color: #c62828; }}
</style>
</head>
<body>
<h1>Decision log summary</h1>
<p id="headline">{headline}</p>
{skipped}
<main>
{sections}
</main>
</body>
</html>
"""


_CHANGE_TITLES = {
    "granted": "newly granted access",
    "unmasked": "columns newly visible",
    "revoked": "access revoked",
    "masked": "columns newly masked",
}


def render_replay_text(result: ReplayResult, *, against: str, limit: int = 10) -> str:
    """Flips grouped by change, domain and policy, newly granted access first; `limit`
    requests are listed per policy (the JSON output lists every one)."""
    granted = len(result.granted)
    lines = [
        f"replayed {result.replayed:,} logged decisions against {printable(against)}: "
        f"{len(result.flips):,} flips ({granted:,} newly granting access)"
    ]
    for change, domains in result.grouped().items():
        lines.append(f"\n{change.upper()}: {_CHANGE_TITLES[change]}")
        for domain, policies in domains.items():
            lines.append(f"  {printable(domain)}")
            for policy, flips in policies.items():
                lines.append(f"    {printable(policy)}: {len(flips):,} request(s)")
                for flip in flips[:limit]:
                    columns = f" columns {', '.join(flip.columns)}" if flip.columns else ""
                    lines.append(
                        f"      {printable(flip.label() + columns)}  "
                        f"[{flip.file}:{flip.line} {printable(flip.timestamp)}]"
                    )
                if len(flips) > limit:
                    lines.append(f"      ... and {len(flips) - limit:,} more")
    if result.masked_inputs:
        lines.append(
            f"\nnote: {result.masked_inputs:,} requests were logged with erased or pseudonymised "
            "input and were replayed as logged"
        )
    lines.append("\nlogged under:")
    lines += [f"  {count:,}  {printable(label)}" for label, count in result.revisions.most_common()]
    return "\n".join(lines) + "\n"


def printable(text: str) -> str:
    """Text from a log, safe for a terminal: control characters (escape sequences) shown escaped."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
