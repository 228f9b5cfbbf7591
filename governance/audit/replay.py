"""Replay (`govern audit replay`): re-decide every logged request against candidate policies, report every flip.

A flip is a change between the logged answer and the candidate's: access granted or revoked,
or a column unmasked or masked (as `govern diff` counts them; forbidden versus not permitted
alone is no flip). Each request is re-decided at its logged moment, so waivers expire as they
did. The main process only reads lines; chunks of them go to a pool of worker processes, one
per core, each holding its own engine, with a bounded number of chunks in flight so a log
larger than memory streams.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from governance.audit.lines import complete_lines
from governance.audit.skips import Skips
from governance.audit.verify import log_files, record_problem
from governance.changes import Answer, Change, changes
from governance.engine import Engine
from governance.logs.chain import is_marker

CHANGES: tuple[Change, ...] = ("granted", "unmasked", "revoked", "masked")  # newly granted first
CHUNK = 2000  # lines per task: large enough that pickling is cheap next to deciding
_POOL_ABOVE_BYTES = 32 << 20


@dataclass(frozen=True, slots=True)
class Candidate:
    """The policies to replay against: a policy tree folder, or signed bundles and their trust."""

    policies: Path | None = None
    bundles: Path | None = None
    trust: Path | None = None

    def engine(self, clock: Callable[[], dt.datetime]) -> Engine:
        """Raises LoadError, BundleRejected or BundleError when the candidate does not load."""
        if self.bundles is not None:
            if self.trust is None:
                raise ValueError("replaying bundles needs the trust file they are verified with")
            return Engine.from_bundles(self.bundles, trust=self.trust, clock=clock)
        if self.policies is None:
            raise ValueError("give the candidate policies or bundles")
        return Engine.from_path(self.policies, clock=clock)


@dataclass(frozen=True, slots=True)
class Flip:
    change: Change
    domain: str
    responsible: tuple[str, ...]  # the policies whose presence or absence made the difference
    columns: tuple[str, ...]  # for mask changes
    file: str
    line: int
    decision_id: str
    timestamp: str
    request: Mapping[str, Any]
    before: Answer
    after: Answer

    @property
    def policy_label(self) -> str:
        return " + ".join(self.responsible) or "(no policy: product or action added or removed)"

    def label(self) -> str:
        """`alice read sales.orders`: the request as a person reads it."""
        subject, action = self.request.get("subject", {}), self.request.get("action", {})
        resource = self.request.get("resource", {})
        return f"{subject.get('id')} {action.get('name')} {resource.get('id')}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "change": self.change,
            "domain": self.domain,
            "responsible": list(self.responsible),
            "columns": list(self.columns),
            "where": f"{self.file}:{self.line}",
            "decision_id": self.decision_id,
            "timestamp": self.timestamp,
            "request": dict(self.request),
            "before": self.before.to_dict(),
            "after": self.after.to_dict(),
        }


@dataclass(slots=True)
class ReplayResult:
    lines: int = 0  # every line read, chain markers included
    replayed: int = 0
    flips: list[Flip] = field(default_factory=list)
    skips: Skips = field(default_factory=Skips)
    masked_inputs: int = 0  # requests replayed with erased or pseudonymised parts
    revisions: Counter[str] = field(default_factory=Counter)  # logged revision set -> records

    @property
    def granted(self) -> list[Flip]:
        return [f for f in self.flips if f.change in ("granted", "unmasked")]

    def grouped(self) -> dict[Change, dict[str, dict[str, list[Flip]]]]:
        """change -> domain -> responsible policy -> flips, newly granted access first."""
        groups: dict[Change, dict[str, dict[str, list[Flip]]]] = {}
        ordered = sorted(
            self.flips, key=lambda f: (CHANGES.index(f.change), f.domain, f.policy_label)
        )
        for flip in ordered:
            by_domain = groups.setdefault(flip.change, {})
            by_domain.setdefault(flip.domain, {}).setdefault(flip.policy_label, []).append(flip)
        return groups

    def merge(self, other: ReplayResult) -> None:
        self.lines += other.lines
        self.replayed += other.replayed
        self.flips += other.flips
        self.skips.merge(other.skips)
        self.masked_inputs += other.masked_inputs
        self.revisions.update(other.revisions)

    def to_dict(self) -> dict[str, Any]:
        counts = Counter(f.change for f in self.flips)
        return {
            "replayed": self.replayed,
            "flips": len(self.flips),
            "changes": {c: counts.get(c, 0) for c in CHANGES},
            "masked_inputs": self.masked_inputs,
            "logged_revisions": dict(self.revisions.most_common()),
            "skipped": {"count": self.skips.count, "examples": list(self.skips.examples)},
            "groups": [
                {"change": change, "domain": domain, "policy": policy,
                 "flips": [f.to_dict() for f in flips]}
                for change, domains in self.grouped().items()
                for domain, policies in domains.items()
                for policy, flips in policies.items()
            ],
        }  # fmt: skip


class _LoggedMoment:
    """The engine's clock during replay: the moment of the record being re-decided."""

    def __init__(self) -> None:
        self.now = dt.datetime.now(dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now


class Replayer:
    """Re-decides chunks of log lines with one engine (one per worker process)."""

    def __init__(self, candidate: Candidate) -> None:
        self._moment = _LoggedMoment()
        self._engine = candidate.engine(self._moment)

    def replay(self, file: str, lines: list[tuple[int, bytes]]) -> ReplayResult:
        result = ReplayResult(lines=len(lines))
        for number, line in lines:
            where = f"{file}:{number}"
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError:
                result.skips.add(f"{where}: not a JSON line")
                continue
            if isinstance(record, dict) and is_marker(record):
                continue
            problem = self.replay_record(record, file, number, result)
            if problem is not None:
                result.skips.add(f"{where}: {problem}")
        return result

    def replay_record(self, record: Any, file: str, line: int, result: ReplayResult) -> str | None:
        """Re-decide one record; the reason it cannot be replayed, or None."""
        if not isinstance(record, dict):
            return "not a JSON object"
        problem = record_problem(record)
        if problem is not None:
            return problem
        request, revisions = record["input"], record["revisions"]
        try:
            before = Answer.of_record(record["result"])
            self._moment.now = _moment(record.get("timestamp"))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            return f"not a decision record ({exc})"
        after = Answer.of_decision(self._engine.decide(request))
        result.replayed += 1
        result.revisions[_revision_label(revisions)] += 1
        if any(p.startswith("/input") for p in _pointers(record)):
            result.masked_inputs += 1
        domain = str(record["result"].get("domain") or self._domain(request))
        for change, responsible, columns in changes(before, after):
            result.flips.append(Flip(
                change, domain, responsible, columns, file, line,
                str(record.get("decision_id")), str(record.get("timestamp")), request, before, after,
            ))  # fmt: skip
        return None

    def _domain(self, request: Mapping[str, Any]) -> str:
        resource = request.get("resource")
        product = resource.get("id") if isinstance(resource, dict) else None
        view = self._engine.snapshot.products.get(product) if isinstance(product, str) else None
        return view.product.domain if view is not None else "(unknown)"


def _pointers(record: Mapping[str, Any]) -> list[str]:
    """The JSON pointers a masker erased or pseudonymised in this record."""
    found = []
    for key in ("erased", "masked"):
        listed = record.get(key)
        if isinstance(listed, list):
            found += [p for p in listed if isinstance(p, str)]
    return found


def _revision_label(revisions: Mapping[str, str]) -> str:
    if not revisions:
        return "(refused before any policy ran)"
    return ", ".join(f"{layer}@{revision}" for layer, revision in sorted(revisions.items()))


def _moment(timestamp: Any) -> dt.datetime:
    """The logged RFC 3339 UTC timestamp; raises ValueError or TypeError when it is not one."""
    if not isinstance(timestamp, str):
        raise TypeError("`timestamp` is not a string")
    moment = dt.datetime.fromisoformat(timestamp)
    if moment.tzinfo is None:
        raise ValueError(f"`timestamp` {timestamp!r} has no time zone")
    return moment


def chunks(
    paths: Iterable[str | Path], skips: Skips
) -> Iterator[tuple[str, list[tuple[int, bytes]]]]:
    """Complete lines of every file, `CHUNK` at a time; truncated lines, unreadable files and
    empty files are counted in `skips`."""
    for path in log_files(paths):
        chunk: list[tuple[int, bytes]] = []
        for line in complete_lines(path, skips):
            chunk.append(line)
            if len(chunk) == CHUNK:
                yield path.name, chunk
                chunk = []
        if chunk:
            yield path.name, chunk


_WORKER: Replayer | None = None


def _start_worker(candidate: Candidate) -> None:
    global _WORKER
    _WORKER = Replayer(candidate)


def _work(task: tuple[str, list[tuple[int, bytes]]]) -> ReplayResult:
    assert _WORKER is not None
    return _WORKER.replay(*task)


def replay(
    paths: Iterable[str | Path],
    candidate: Candidate,
    *,
    jobs: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> ReplayResult:
    """Replay every record of `paths` against `candidate` on `jobs` processes (default: every
    core for logs over 32 MiB, else this process). Raises what loading the candidate raises
    (LoadError, BundleRejected, ...)."""
    files = log_files(paths)
    if jobs is None:  # worker start-up (each loads the policies) pays off on large logs only
        size = sum(p.stat().st_size for p in files if p.is_file())
        jobs = (os.cpu_count() or 1) if size > _POOL_ABOVE_BYTES else 1
    total = ReplayResult()
    local = Replayer(candidate)  # loads once here: a bad candidate fails before any worker starts
    tasks = chunks(files, total.skips)

    def add(part: ReplayResult) -> None:
        total.merge(part)
        if progress is not None:
            progress(total.lines)

    if jobs == 1:
        for file, lines in tasks:
            add(local.replay(file, lines))
        return total
    del local
    in_flight = threading.BoundedSemaphore(4 * jobs)  # the reader waits for the workers

    def throttled() -> Iterator[tuple[str, list[tuple[int, bytes]]]]:
        for task in tasks:
            in_flight.acquire()
            yield task

    context = multiprocessing.get_context("spawn")  # no fork of a process that has threads
    with context.Pool(jobs, initializer=_start_worker, initargs=(candidate,)) as pool:
        for part in pool.imap(_work, throttled()):
            in_flight.release()
            add(part)
    return total
