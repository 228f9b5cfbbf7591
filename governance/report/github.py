"""GitHub Actions workflow commands: each problem and failed test annotates its line in the PR."""

from __future__ import annotations

from governance.errors import Location
from governance.tools.check import CheckReport


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def command(severity: str, location: Location, title: str, message: str) -> str:
    """`::error file=…,line=…,col=…,title=…::message`, escaped as the runner expects."""
    props = [f"file={_property(location.file)}"]
    if location.line:
        props.append(f"line={location.line}")
    if location.column:
        props.append(f"col={location.column}")
    props.append(f"title={_property(title)}")
    return f"::{severity} {','.join(props)}::{_data(message)}"


def render_github(report: CheckReport) -> str:
    lines = [
        command(
            "error" if report.fails(p) else "warning", p.location, f"govern {p.code}", p.message
        )
        for p in report.problems
    ]
    if report.tests is not None:
        for result in report.tests.results:
            if not result.passed:
                message = f"policy test failed: {result.name}\n" + "\n".join(result.failures)
                lines.append(command("error", result.location, "govern test-failed", message))
    errors, warnings = len(report.errors), len(report.warnings)
    tests = report.tests.results if report.tests is not None else []
    passed = sum(r.passed for r in tests)
    lines.append(
        f"govern check {report.path}: {errors} error(s), {warnings} warning(s), "
        f"{passed}/{len(tests)} policy tests passed"
    )
    return "\n".join(lines)
