"""The policy-author verbs: check, test, decide, diff, fmt, init, demo."""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from pathlib import Path
from typing import Any, NoReturn

import click
import orjson

from governance.cli.progress import progress_bar
from governance.engine import Engine
from governance.errors import LoadError
from governance.explain import explain
from governance.report import (
    CHECK_FORMATS,
    TEST_FORMATS,
    check_to_dict,
    render_check_junit,
    render_check_text,
    render_github,
    render_sarif,
    render_tests_junit,
    render_tests_text,
    tests_to_dict,
)
from governance.report.diff import diff_to_dict, render_diff_markdown, render_diff_text
from governance.snapshot import EvaluatorName
from governance.tools.check import CheckOptions, run_check, run_policy_tests
from governance.tools.decision_space import request_from_flags
from governance.tools.demo import run_demo
from governance.tools.diff import DiffError, SideLoadError, run_diff
from governance.tools.fmt import format_files
from governance.tools.scaffold import ScaffoldError, scaffold_domain

EVALUATORS = click.Choice(["compiled", "reference"])
TREE = click.Path(exists=True, file_okay=False, path_type=Path)


def _evaluator(name: str) -> EvaluatorName:
    return "compiled" if name == "compiled" else "reference"


def _evaluator_option(function: Any) -> Any:
    return click.option(
        "--evaluator",
        type=EVALUATORS,
        default="compiled",
        show_default=True,
        help="Access evaluator: compiled (fast) or reference (cedarpy, policy by policy).",
    )(function)


def _color(option: bool | None) -> bool:
    """--color/--no-color win; otherwise colour on a terminal unless NO_COLOR is set."""
    if option is not None:
        return option
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


@click.command()
@click.argument("path", default="policies", type=TREE)
@click.option(
    "--format", "fmt", type=click.Choice(CHECK_FORMATS), default="text", show_default=True
)
@click.option("--strict", is_flag=True, help="Treat warnings as errors.")
@click.option("--no-tests", is_flag=True, help="Skip the policy tests.")
@click.option(
    "--warn-expiring",
    type=click.IntRange(min=0),
    metavar="DAYS",
    help="Warn about waivers that expire within DAYS days.",
)
@click.option(
    "--today",
    type=click.DateTime(["%Y-%m-%d"]),
    help="The date waiver expiry is judged on (default: today, UTC).",
)
@click.option("--color/--no-color", default=None, help="Colour text output (default: on a tty).")
@click.option("-v", "--verbose", is_flag=True, help="List passing policy tests too.")
@_evaluator_option
def check(
    path: Path,
    fmt: str,
    strict: bool,
    no_tests: bool,
    warn_expiring: int | None,
    today: dt.datetime | None,
    color: bool | None,
    verbose: bool,
    evaluator: str,
) -> None:
    """Validate the policy tree at PATH and run its tests; report every problem at once."""
    options = CheckOptions(
        today=today.date() if today else dt.datetime.now(dt.UTC).date(),
        warn_expiring=warn_expiring,
        run_tests=not no_tests,
        strict=strict,
        evaluator=_evaluator(evaluator),
    )
    with progress_bar(machine_format=fmt != "text") as progress:
        report = run_check(path, options, progress)
    if fmt == "json":
        output = json.dumps(check_to_dict(report), indent=2)
    elif fmt == "junit":
        output = render_check_junit(report)
    elif fmt == "github":
        output = render_github(report)
    elif fmt == "sarif":
        output = render_sarif(report)
    else:
        output = render_check_text(report, color=_color(color), verbose=verbose)
    click.echo(output, color=_color(color))
    sys.exit(report.exit_code)


@click.command()
@click.argument("path", default="policies", type=TREE)
@click.option("--format", "fmt", type=click.Choice(TEST_FORMATS), default="text", show_default=True)
@click.option(
    "--min-coverage",
    type=click.FloatRange(0, 100),
    metavar="PERCENT",
    help="Fail when policy or domain x action coverage is below PERCENT.",
)
@click.option("--color/--no-color", default=None, help="Colour text output (default: on a tty).")
@click.option("-v", "--verbose", is_flag=True, help="List passing tests too.")
@_evaluator_option
def test(
    path: Path,
    fmt: str,
    min_coverage: float | None,
    color: bool | None,
    verbose: bool,
    evaluator: str,
) -> None:
    """Run the YAML policy tests of every layer and report coverage."""
    with progress_bar(machine_format=fmt != "text") as progress:
        outcome = run_policy_tests(path, _evaluator(evaluator), min_coverage, progress)
    if not outcome.report.loaded and fmt == "text":
        for problem in outcome.report.problems:
            click.echo(str(problem), err=True)
        click.echo(f"the policy tree {path} does not load: no tests were run", err=True)
        sys.exit(1)
    if fmt == "json":
        output = json.dumps(tests_to_dict(outcome), indent=2)
    elif fmt == "junit":
        output = render_tests_junit(outcome)
    else:
        output = render_tests_text(outcome, color=_color(color), verbose=verbose)
    click.echo(output, color=_color(color))
    sys.exit(outcome.exit_code)


@click.command()
@click.argument("request", required=False)
@click.option("--path", "tree", default="policies", type=TREE, show_default=True)
@click.option("--file", "request_file", type=click.File("rb"), help="Read the request from FILE.")
@click.option("--principal", help="A persona of fixtures.yaml, or a principal id.")
@click.option("--group", "groups", multiple=True, help="A group of the principal (repeatable).")
@click.option(
    "--attr", "attributes", multiple=True, metavar="KEY=VALUE", help="A principal attribute."
)
@click.option("--action")
@click.option("--product")
@click.option("--column", "columns", multiple=True, help="A column to read (repeatable).")
@click.option("--purpose", help="Shorthand for --context purpose=VALUE.")
@click.option("--context", "context", multiple=True, metavar="KEY=VALUE")
@click.option("--at", type=click.DateTime(["%Y-%m-%d"]), help="Decide as of this date.")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.option("--fail-on-deny", is_flag=True, help="Exit 1 when access is denied.")
@click.option(
    "--explain",
    "every_column",
    is_flag=True,
    help="Classify every column of the product, not only the columns the request reads.",
)
@_evaluator_option
def decide(
    request: str | None,
    tree: Path,
    request_file: Any,
    principal: str | None,
    groups: tuple[str, ...],
    attributes: tuple[str, ...],
    action: str | None,
    product: str | None,
    columns: tuple[str, ...],
    purpose: str | None,
    context: tuple[str, ...],
    at: dt.datetime | None,
    fmt: str,
    fail_on_deny: bool,
    every_column: bool,
    evaluator: str,
) -> None:
    """Decide one request: AuthZEN JSON (argument, --file or stdin) or built from flags.

    \b
    govern decide --principal alice --action read --product sales.orders --purpose analytics
    govern decide '{"subject": {...}, "action": {...}, "resource": {...}}' --format json
    """
    engine = _engine(tree, evaluator, at)
    flags = principal or action or product
    reads_stdin = request in (None, "-") and request_file is None
    if reads_stdin and not flags and sys.stdin.isatty():
        _usage("give a request: JSON as an argument, --file, stdin, or --principal/--action/...")
    if request is not None or request_file is not None or not flags:
        if request == "-":
            request = None  # `-` means stdin, as for every other command-line tool
        text = request if request is not None else (request_file or sys.stdin.buffer).read()
        if not text.strip():
            _usage("no request given (empty input)")
        try:  # strict JSON, as the server reads it: UTF-8, no NaN, bounded depth and numbers
            parsed = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            _usage(f"the request is not valid JSON: {exc}")
    else:
        try:
            parsed = request_from_flags(
                engine.snapshot.tree.fixtures.principals,
                principal=principal,
                groups=groups,
                attributes=attributes,
                action=action,
                product=product,
                columns=columns,
                context=(*context, *([f"purpose={purpose}"] if purpose else [])),
            )
        except ValueError as exc:
            _usage(str(exc))
    decision = engine.decide(parsed)
    if fmt == "json" and every_column:
        every = decision.to_dict(all_columns=True)
        try:
            click.echo(orjson.dumps(every).decode())
        except TypeError:  # a lone surrogate (from a flag's undecodable bytes): escaped instead
            click.echo(json.dumps(every, separators=(",", ":"), allow_nan=False))
    elif fmt == "json":
        click.echo(decision.to_json().decode())
    else:
        # A flag given as undecodable bytes arrives as lone surrogates, which stdout cannot encode
        text = explain(decision, all_columns=every_column)
        click.echo(text.encode("utf-8", "backslashreplace").decode("utf-8"))
    sys.exit(1 if fail_on_deny and not decision.allowed else 0)


@click.command()
@click.argument("base")
@click.argument("candidate")
@click.option(
    "--tree",
    "subpath",
    default="policies",
    show_default=True,
    help="Where the policy tree is inside a git revision (REV:PATH also works).",
)
@click.option("--fixtures", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "markdown"]),
    default="text",
    show_default=True,
)
@click.option("--fail-on-grant", is_flag=True, help="Exit 1 if any access is newly granted.")
@click.option("--at", type=click.DateTime(["%Y-%m-%d"]), help="Decide as of this date.")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True,
              help="Requests listed per policy in text and markdown output.")  # fmt: skip
@_evaluator_option
def diff(
    base: str,
    candidate: str,
    subpath: str,
    fixtures: Path | None,
    fmt: str,
    fail_on_grant: bool,
    at: dt.datetime | None,
    limit: int,
    evaluator: str,
) -> None:
    """Every decision that flips between BASE and CANDIDATE (paths or git revisions)."""
    moment = (at or dt.datetime.now(dt.UTC)).replace(tzinfo=dt.UTC)
    try:
        with progress_bar(machine_format=fmt != "text") as progress:
            result = run_diff(
                base,
                candidate,
                subpath=subpath,
                fixtures=fixtures,
                evaluator=_evaluator(evaluator),
                now=moment,
                progress=progress,
            )
    except SideLoadError as exc:
        click.echo(f"error: the {exc.side} tree does not load", err=True)
        _fail_load(exc)
    except DiffError as exc:
        _usage(str(exc))
    if fmt == "json":
        click.echo(json.dumps(diff_to_dict(result), indent=2))
    elif fmt == "markdown":
        click.echo(render_diff_markdown(result, limit=limit))
    else:
        click.echo(render_diff_text(result, limit=limit))
    sys.exit(1 if fail_on_grant and result.granted else 0)


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--check", "check_only", is_flag=True, help="Exit 1 if a file would change.")
def fmt(paths: tuple[Path, ...], check_only: bool) -> None:
    """Format Cedar files (default: every .cedar file under policies/)."""
    results = format_files(paths or (Path("policies"),), write=not check_only)
    status = 0
    for result in results:
        if result.error:
            click.echo(f"{result.display}: error: {result.error}", err=True)
            status = 1
        elif result.changed:
            click.echo(f"{'would reformat' if check_only else 'reformatted'} {result.display}")
            status = 1 if check_only else status
    unchanged = sum(1 for r in results if not r.changed and not r.error)
    click.echo(f"{len(results)} Cedar file(s) checked, {unchanged} already formatted", err=True)
    sys.exit(status)


@click.command()
@click.argument("domain")
@click.option(
    "--path",
    "tree",
    default="policies",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
)
def init(domain: str, tree: Path) -> None:
    """Scaffold a new domain folder in the tree, ready to pass `govern check`."""
    try:
        created = scaffold_domain(tree, domain)
    except ScaffoldError as exc:
        _usage(str(exc))
    for path in created:
        click.echo(f"created {path}")
    click.echo(f"next: edit the files, then run `govern check {tree}`")


@click.command()
@click.argument("path", default="policies", type=TREE)
@_evaluator_option
def demo(path: Path, evaluator: str) -> None:
    """Decide and explain the representative requests of PATH/demo.yaml."""
    try:
        run = run_demo(path, evaluator=_evaluator(evaluator))
    except LoadError as exc:
        if [p.code for p in exc.problems] == ["missing-file"] and not (path / "demo.yaml").exists():
            _usage(
                f"{path} has no demo.yaml: write one listing representative requests "
                "to decide and explain, or decide one with `govern decide`"
            )
        _fail_load(exc)
    snapshot = run.engine.snapshot
    tree = snapshot.tree
    click.echo(
        f"{tree.config.organisation}: {len(tree.domains)} domains, "
        f"{len(tree.products())} data products, "
        f"{len(tree.policies())} access policies ({snapshot.evaluator_name} evaluator)\n"
    )
    for title, decision in run.decisions:
        click.echo(explain(decision, title) + "\n")


def _engine(tree: Path, evaluator: str, at: dt.datetime | None) -> Engine:
    name = _evaluator(evaluator)
    try:
        if at is None:
            return Engine.from_path(tree, evaluator=name)
        moment = at.replace(hour=12, tzinfo=dt.UTC)
        return Engine.from_path(tree, evaluator=name, clock=lambda: moment)
    except LoadError as exc:
        _fail_load(exc)


def _usage(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


def _fail_load(exc: LoadError) -> NoReturn:
    for problem in exc.problems:
        click.echo(str(problem), err=True)
    click.echo("run `govern check` on the tree for the full report", err=True)
    sys.exit(1)


COMMANDS = (check, test, decide, diff, fmt, init, demo)
