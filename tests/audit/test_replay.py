"""`govern audit replay`: against a changed guardrail it finds exactly the decisions that flip."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner

from governance import Engine
from governance.audit.lines import read_lines
from governance.audit.replay import CHANGES, Candidate, replay
from governance.audit.verify import log_files
from governance.changes import Answer, changes
from governance.cli import main
from tests.audit.conftest import POLICIES

REPO = POLICIES.parent
# Two edits of global/access/guardrails.cedar: ml_training becomes an approved purpose for
# personal data (access granted), and restricted columns need clearance 4 (columns masked).
EDITS = [
    ('    "audit"].contains', '    "audit", "ml_training"].contains'),
    ("principal.clearance >= 3 };", "principal.clearance >= 4 };"),
]


def changed_guardrails(target: Path) -> Path:
    shutil.copytree(POLICIES, target)
    guardrails = target / "global" / "access" / "guardrails.cedar"
    text = guardrails.read_text()
    for old, new in EDITS:
        assert text.count(old) == 1
        text = text.replace(old, new)
    guardrails.write_text(text)
    return target


@pytest.fixture(scope="module")
def candidate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return changed_guardrails(tmp_path_factory.mktemp("candidate") / "policies")


class _At:
    def __init__(self) -> None:
        self.now = dt.datetime.now(dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now


def _flips_by_deciding_both(log: Path, candidate: Path) -> set[tuple[Any, ...]]:
    """Every logged request decided directly by the logged tree and by the candidate."""
    at = _At()
    old, new = Engine.from_path(POLICIES, clock=at), Engine.from_path(candidate, clock=at)
    expected = set()
    for path in log_files([log]):
        for number, line in enumerate(read_lines(path), start=1):
            record = orjson.loads(line)
            if "decision_id" not in record:
                continue
            at.now = dt.datetime.fromisoformat(record["timestamp"])
            before = Answer.of_decision(old.decide(record["input"]))
            assert before == Answer.of_record(record["result"])  # the log is what the tree said
            after = Answer.of_decision(new.decide(record["input"]))
            for change, _, columns in changes(before, after):
                expected.add((path.name, number, change, columns))
    return expected


def _found(result: Any) -> set[tuple[Any, ...]]:
    return {(f.file, f.line, f.change, f.columns) for f in result.flips}


def test_replay_finds_exactly_the_flipped_decisions(simulated_log: Path, candidate: Path) -> None:
    result = replay([simulated_log], Candidate(candidate), jobs=1)
    expected = _flips_by_deciding_both(simulated_log, candidate)
    assert _found(result) == expected
    assert {c for _, _, c, _ in expected} == {"granted", "masked"}  # both edits show
    assert result.skips.count == 0 and result.replayed == 3000
    granted = [f for f in result.flips if f.change == "granted"]
    assert all(f.request["context"].get("purpose") == "ml_training" for f in granted)
    masked = [f for f in result.flips if f.change == "masked"]
    assert {f.responsible for f in masked} == {("global/restricted-columns-need-clearance",)}


def test_replay_on_every_core_agrees_with_one_process(simulated_log: Path, candidate: Path) -> None:
    alone = replay([simulated_log], Candidate(candidate), jobs=1)
    seen: list[int] = []
    pooled = replay([simulated_log], Candidate(candidate), jobs=2, progress=seen.append)
    assert pooled.to_dict() == alone.to_dict()
    assert seen == sorted(seen) and seen[-1] == pooled.lines


def test_replay_against_the_logged_policies_flips_nothing(simulated_log: Path) -> None:
    result = replay([simulated_log], Candidate(POLICIES), jobs=1)
    assert result.flips == [] and result.replayed == 3000


def test_replay_against_signed_bundles(simulated_log: Path) -> None:
    bundles = Candidate(bundles=REPO / "bundles", trust=REPO / "examples/keys/trust.yaml")
    result = replay([simulated_log], bundles, jobs=1)
    assert result.flips == [] and result.replayed == 3000


def test_grouping_puts_newly_granted_access_first(simulated_log: Path, candidate: Path) -> None:
    result = replay([simulated_log], Candidate(candidate), jobs=1)
    changes = list(result.grouped())
    assert changes == sorted(changes, key=CHANGES.index) and changes[0] == "granted"
    data = result.to_dict()
    assert data["changes"]["granted"] == len(result.granted) > 0
    assert sum(len(g["flips"]) for g in data["groups"]) == data["flips"] == len(result.flips)
    assert data["groups"][0]["change"] == "granted"


def test_cli_replay(simulated_log: Path, candidate: Path) -> None:
    runner = CliRunner()
    args = ["audit", "replay", str(simulated_log), "--policies", str(candidate)]
    text = runner.invoke(main, [*args, "--limit", "1"])
    assert text.exit_code == 0, text.output
    assert text.output.index("GRANTED") < text.output.index("MASKED")
    assert "global/restricted-columns-need-clearance" in text.output and "... and" in text.output
    assert runner.invoke(main, [*args, "--fail-on-grant"]).exit_code == 1
    data = orjson.loads(runner.invoke(main, [*args, "--format", "json"]).stdout)
    assert data["replayed"] == 3000 and data["changes"]["masked"] > 0
    both = runner.invoke(main, [*args, "--bundles", str(REPO / "bundles")])
    assert both.exit_code == 2 and "exactly one of" in both.output
    untrusted = runner.invoke(main, ["audit", "replay", str(simulated_log), "--bundles", "bundles"])
    assert untrusted.exit_code == 2


def test_cli_replay_refuses_a_broken_candidate(simulated_log: Path, tmp_path: Path) -> None:
    broken = changed_guardrails(tmp_path / "policies")
    (broken / "global" / "access" / "guardrails.cedar").write_text("forbid (principal,")
    result = CliRunner().invoke(
        main, ["audit", "replay", str(simulated_log), "--policies", str(broken)]
    )
    assert result.exit_code == 1 and "cannot load the candidate policies" in result.output
