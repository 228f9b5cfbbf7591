"""The demo: representative requests over a policy tree (`demo.yaml`), decided and explained."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from governance.decision import Decision
from governance.engine import Clock, Engine, system_clock
from governance.errors import LoadError, Location, Problem
from governance.snapshot import EvaluatorName
from governance.tools.policy_tests import build_request
from governance.tree.load import display_path, validate_model
from governance.tree.located_yaml import load_yaml


class DemoItem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str
    request: dict[str, Any]


class DemoFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    requests: list[DemoItem] = []


@dataclass(frozen=True, slots=True)
class DemoRun:
    engine: Engine
    decisions: list[tuple[str, Decision]]


def run_demo(
    path: str | Path, evaluator: EvaluatorName = "compiled", clock: Clock = system_clock
) -> DemoRun:
    """Decide every request of `<tree>/demo.yaml`; raises LoadError on a bad tree or demo file."""
    engine = Engine.from_path(path, evaluator=evaluator, clock=clock)
    demo_path = Path(path) / "demo.yaml"
    problems: list[Problem] = []
    if not demo_path.is_file():
        raise LoadError(
            [Problem(Location(display_path(demo_path)), "missing-file", "missing demo.yaml")]
        )
    document = load_yaml(demo_path, display_path(demo_path), problems)
    if isinstance(document, list):  # a bare list of requests is accepted too
        document = {"requests": document}
    demo = validate_model(document, DemoFile, display_path(demo_path), problems)
    if demo is None:
        raise LoadError(problems)
    personas = engine.snapshot.tree.fixtures.principals
    decisions = []
    for item in demo.requests:
        try:
            request = build_request(item.request, personas)
        except ValueError as exc:
            raise LoadError(
                [Problem(Location(display_path(demo_path)), "demo", f"{item.title}: {exc}")]
            ) from exc
        decisions.append((item.title, engine.decide(request)))
    return DemoRun(engine, decisions)
