"""`govern diff` reports: a terminal listing, a pull-request comment (Markdown) and JSON."""

from __future__ import annotations

from typing import Any

from governance.tools.diff import CHANGES, DiffResult, Flip

_TITLES = {
    "granted": "Newly granted access",
    "unmasked": "Columns newly visible (mask lifted)",
    "revoked": "Access revoked",
    "masked": "Columns newly masked",
}


def diff_to_dict(result: DiffResult) -> dict[str, Any]:
    counts = {change: sum(f.change == change for f in result.flips) for change in CHANGES}
    return {
        "base": result.base,
        "candidate": result.candidate,
        "requests": result.requests,
        "unchanged_requests": result.unchanged,
        "seconds": round(result.seconds, 3),
        "counts": counts,
        "newly_granted": len(result.granted),
        "flips": [f.to_dict() for f in sorted(result.flips, key=_order)],
    }


def _order(flip: Flip) -> tuple[int, str, str, str]:
    return (CHANGES.index(flip.change), flip.domain, flip.policy_label, flip.request.label())


def _detail(flip: Flip, arrow: str = "->") -> str:
    if flip.columns:
        return f"{flip.request.label()}: {', '.join(flip.columns)}"
    before, after = flip.before, flip.after
    was = before.reason or before.kind.replace("_", " ")
    now = after.reason or after.kind.replace("_", " ")
    return f"{flip.request.label()}: {was} {arrow} {now}"


def _summary(result: DiffResult) -> str:
    if not result.flips:
        return f"no decision flips over {result.requests} requests"
    parts = [
        f"{sum(f.change == c for f in result.flips)} {c}"
        for c in CHANGES
        if any(f.change == c for f in result.flips)
    ]
    return f"{len(result.flips)} decision flip(s) over {result.requests} requests: " + ", ".join(
        parts
    )


def render_diff_text(result: DiffResult, *, limit: int = 20) -> str:
    lines = [f"govern diff {result.base} -> {result.candidate}: {_summary(result)}"]
    for change, domains in result.grouped().items():
        lines.append(f"\n{_TITLES[change].upper()}")
        for domain, policies in domains.items():
            lines.append(f"  domain {domain}")
            for policy, flips in policies.items():
                lines.append(f"    {policy}: {len(flips)} request(s)")
                lines += [f"      {_detail(f)}" for f in flips[:limit]]
                if len(flips) > limit:
                    lines.append(f"      ... and {len(flips) - limit} more")
    lines.append(f"\n({result.seconds:.1f}s)")
    return "\n".join(lines)


def render_diff_markdown(result: DiffResult, *, limit: int = 20) -> str:
    granted = len(result.granted)
    icon = ":warning:" if granted else ":white_check_mark:"
    lines = [
        "## govern diff: policy impact",
        "",
        f"{icon} {_summary(result)} (`{result.base}` → `{result.candidate}`).",
    ]
    if granted:
        lines.append(f"**{granted} request(s) gain access.** Review them before merging.")
    for change, domains in result.grouped().items():
        lines += ["", f"### {_TITLES[change]}", ""]
        lines += ["| domain | policy | requests |", "|---|---|---|"]
        for domain, policies in domains.items():
            for policy, flips in policies.items():
                lines.append(f"| `{domain}` | `{policy}` | {len(flips)} |")
        for domain, policies in domains.items():
            for policy, flips in policies.items():
                lines += ["", "<details>", f"<summary>{domain}: <code>{policy}</code> "
                          f"({len(flips)})</summary>", ""]  # fmt: skip
                lines += [f"- {_escape(_detail(f, '→'))}" for f in flips[:limit]]
                if len(flips) > limit:
                    lines.append(f"- … and {len(flips) - limit} more")
                lines += ["", "</details>"]
    lines += ["", f"<sub>{result.requests} requests evaluated on both sides in "
              f"{result.seconds:.1f}s by <code>govern diff</code>.</sub>"]  # fmt: skip
    return "\n".join(lines)


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")
