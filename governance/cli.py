"""The `govern` command line: each verb parses options, calls one library function, renders, exits."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from governance.demo import run_demo
from governance.errors import LoadError
from governance.explain import explain

EVALUATORS = click.Choice(["compiled", "reference"])


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="govern")
def main() -> None:
    """govern: federated access, classification and retention for data mesh platforms."""


@main.command()
@click.argument("path", default="policies", type=click.Path(path_type=Path))
@click.option("--evaluator", type=EVALUATORS, default="compiled", show_default=True)
def demo(path: Path, evaluator: str) -> None:
    """Decide and explain the representative requests of PATH/demo.yaml."""
    try:
        run = run_demo(path, evaluator=evaluator)  # type: ignore[arg-type]
    except LoadError as exc:
        _fail_load(exc)
    snapshot = run.engine.snapshot
    tree = snapshot.tree
    click.echo(
        f"{tree.config.organisation}: {len(tree.domains)} domains, {len(tree.products())} data products, "
        f"{len(tree.policies())} access policies ({snapshot.evaluator_name} evaluator)\n"
    )
    for title, decision in run.decisions:
        click.echo(explain(decision, title) + "\n")


def _fail_load(exc: LoadError) -> None:
    for problem in exc.problems:
        click.echo(str(problem), err=True)
    sys.exit(1)
