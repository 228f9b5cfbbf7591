"""Renderers: pure functions from report objects (check, tests, diff) to the strings users read."""

from __future__ import annotations

from governance.report.github import render_github
from governance.report.junit import render_check_junit, render_tests_junit
from governance.report.machine import check_to_dict, tests_to_dict
from governance.report.sarif import render_sarif
from governance.report.text import render_check_text, render_tests_text

CHECK_FORMATS = ("text", "json", "junit", "github", "sarif")
TEST_FORMATS = ("text", "json", "junit")

__all__ = [
    "CHECK_FORMATS",
    "TEST_FORMATS",
    "check_to_dict",
    "render_check_junit",
    "render_check_text",
    "render_github",
    "render_sarif",
    "render_tests_junit",
    "render_tests_text",
    "tests_to_dict",
]
