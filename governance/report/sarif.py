"""SARIF 2.1.0, the format code-scanning UIs (GitHub, GitLab, Azure DevOps) ingest."""

from __future__ import annotations

import json
from importlib import metadata
from pathlib import PurePath
from typing import Any

from governance.errors import Location
from governance.tools.check import CHECKS, CheckReport

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def _version() -> str:
    try:
        return metadata.version("govern")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0.0.0"


def _location(location: Location) -> dict[str, Any]:
    physical: dict[str, Any] = {
        "artifactLocation": {"uri": PurePath(location.file).as_posix()},
    }
    if location.line:
        region = {"startLine": location.line}
        if location.column:
            region["startColumn"] = location.column
        physical["region"] = region
    return {"physicalLocation": physical}


def render_sarif(report: CheckReport) -> str:
    rule_ids = list(CHECKS)
    rule_ids += sorted({p.code for p in report.problems} - set(rule_ids))
    index = {code: i for i, code in enumerate(rule_ids)}
    rules = [
        {
            "id": code,
            "name": "".join(part.title() for part in code.split("-")),
            "shortDescription": {"text": CHECKS.get(code, code)},
            "defaultConfiguration": {"level": _default_level(code)},
        }
        for code in rule_ids
    ]
    results = [
        {
            "ruleId": p.code,
            "ruleIndex": index[p.code],
            "level": "error" if report.fails(p) else "warning",
            "message": {"text": p.message},
            "locations": [_location(p.location)],
        }
        for p in report.problems
    ]
    if report.tests is not None:
        results += [
            {
                "ruleId": "test-failed",
                "ruleIndex": index["test-failed"],
                "level": "error",
                "message": {"text": f"policy test `{r.name}` failed: " + "; ".join(r.failures)},
                "locations": [_location(r.location)],
            }
            for r in report.tests.results
            if not r.passed
        ]
    document = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "govern",
                        "version": _version(),
                        "rules": rules,
                    }
                },
                "results": results,
                "columnKind": "unicodeCodePoints",
            }
        ],
    }
    return json.dumps(document, indent=2)


_WARNINGS = {
    "waiver-expired", "waiver-expiring", "dead-policy", "below-global-floor",
    "overridden-by-locked-rule", "compiler-fallback",
}  # fmt: skip


def _default_level(code: str) -> str:
    return "warning" if code in _WARNINGS else "error"
