"""Impact analysis (`govern diff`): every decision that flips between two policy trees.

Both trees are evaluated over the same decision space (personas x actions x products x every
value of enumerated context attributes) and over the requests of both sides' test files. The
personas are the fixtures' plus a synthetic member of every group, and every principal, that
either side's policies name: a new grant to a group no fixture persona belongs to still flips. A
synthetic principal's flip is reported only where no fixture persona shows the same one. A flip
is a change of the access answer or of the masked columns; kinds alone (forbidden versus not
permitted) are not flips. Either side is a folder or a git revision of the current repository,
exported with `git archive` into a temporary folder.
"""

from __future__ import annotations

import datetime as dt
import io
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from governance.access.request_schema import RequestSchema
from governance.changes import Answer, Change, changes
from governance.decision import Decision
from governance.engine import Engine
from governance.errors import GovernanceError, LoadError, Location, Problem
from governance.snapshot import EvaluatorName, build_snapshot
from governance.tools.decision_space import (
    SpaceRequest,
    context_values,
    merged_context,
    named_principals,
    request_key,
    space,
    space_size,
)
from governance.tools.policy_tests import TestFile, build_request
from governance.tools.progress import Progress, no_progress
from governance.tree.formats import FixturesFile, Persona
from governance.tree.layers import GLOBAL, PolicyTree
from governance.tree.load import (
    display_path,
    load_tree,
    read_model,
    shown_from,
    validate_model,
)
from governance.tree.located_yaml import load_yaml

CHANGES: tuple[Change, ...] = ("granted", "unmasked", "revoked", "masked")  # report order


class DiffError(GovernanceError):
    """A side of the diff is neither a policy tree folder nor a git revision holding one."""


class SideLoadError(LoadError):
    """One side of the diff does not load; `side` says which."""

    def __init__(self, side: str, problems: list[Problem]) -> None:
        super().__init__(problems)
        self.side = side


@dataclass(frozen=True, slots=True)
class Flip:
    request: SpaceRequest
    domain: str
    change: Change
    before: Answer
    after: Answer
    responsible: tuple[str, ...]  # the policies whose presence or absence made the difference
    columns: tuple[str, ...] = ()  # for mask changes

    @property
    def policy_label(self) -> str:
        return " + ".join(self.responsible) or "(no policy: product or action added or removed)"

    def to_dict(self) -> dict[str, Any]:
        return {
            "change": self.change,
            "domain": self.domain,
            "request": self.request.label(),
            "persona": self.request.persona,
            "authzen": dict(self.request.request),
            "responsible": list(self.responsible),
            "columns": list(self.columns),
            "before": self.before.to_dict(),
            "after": self.after.to_dict(),
        }


@dataclass(slots=True)
class DiffResult:
    base: str
    candidate: str
    requests: int
    flips: list[Flip] = field(default_factory=list)
    seconds: float = 0.0
    unchanged: int = 0  # requests in domains identical on both sides: equal by construction

    @property
    def granted(self) -> list[Flip]:
        """Newly granted access: a deny became an allow, or a masked column became visible."""
        return [f for f in self.flips if f.change in ("granted", "unmasked")]

    def grouped(self) -> dict[Change, dict[str, dict[str, list[Flip]]]]:
        """change -> domain -> responsible policy -> flips, newly granted access first."""
        groups: dict[Change, dict[str, dict[str, list[Flip]]]] = {}
        ordered = sorted(
            self.flips,
            key=lambda f: (CHANGES.index(f.change), f.domain, f.policy_label, f.request.label()),
        )
        for flip in ordered:
            by_domain = groups.setdefault(flip.change, {})
            by_domain.setdefault(flip.domain, {}).setdefault(flip.policy_label, []).append(flip)
        return groups


def run_diff(
    base: str,
    candidate: str,
    *,
    subpath: str = "policies",
    fixtures: Path | None = None,
    evaluator: EvaluatorName = "compiled",
    now: dt.datetime | None = None,
    repo: Path | None = None,
    progress: Progress = no_progress,
) -> DiffResult:
    started = time.perf_counter()
    moment = now or dt.datetime.now(dt.UTC)
    with (
        materialize(base, subpath, repo) as base_path,
        materialize(candidate, subpath, repo) as candidate_path,
    ):
        before = _engine("base", base_path, evaluator, moment)
        # What only unchanged domains determine is taken from the base, as a reload would.
        after = _engine("candidate", candidate_path, evaluator, moment, before)
        fixture_personas = _personas(fixtures, before.snapshot.tree, after.snapshot.tree)
        decisions = _Space(before, after, fixture_personas)
        flips: list[Flip] = []
        total = unchanged = 0
        synthetic: set[str] = set()
        for done, home in enumerate(decisions.homes):
            progress("deciding both sides", done, len(decisions.homes))
            part = decisions.part(home)
            total += part.count
            synthetic |= part.synthetic
            if part.unchanged:
                unchanged += part.count
                continue
            for request in part.requests:
                old, new = before.decide(request.request), after.decide(request.request)
                flips += compare(request, old, new, _domain(request.product, before, after))
    flips = _without_echoes(flips, synthetic)
    seconds = time.perf_counter() - started
    return DiffResult(base, candidate, total, flips, seconds, unchanged)


@dataclass(frozen=True, slots=True)
class _Part:
    """The requests on the products one domain holds (on both sides, or as each side places
    them): decided together, and skipped together when nothing they read has changed."""

    requests: list[SpaceRequest]  # empty when unchanged: they are counted, not made
    synthetic: frozenset[str]  # the names of the synthetic principals among the personas
    count: int  # distinct requests (by key)
    unchanged: bool


_Home = tuple[tuple[str, ...], bool]  # the product's domains on the sides that have it; on both?


class _Space:
    """The decision space (see `decision_space`), one domain at a time. A decision reads only the
    global layer and the product's domain, so a domain's products are asked with the principals
    those policies name, plus one stand-in per principal type for the principals named only
    elsewhere (to these policies they are all alike: attribute-less, in no group they name)."""

    def __init__(self, before: Engine, after: Engine, fixtures: Mapping[str, Persona]) -> None:
        trees = (before.snapshot.tree, after.snapshot.tree)
        self._fixtures = fixtures
        self._same = unchanged_domains(*trees)
        self._actions = _union(*([a.name for a in t.config.action_specs()] for t in trees))
        self._contexts = context_values(merged_context([t.config for t in trees]))
        self._products: dict[_Home, list[str]] = {}
        for product in _union(*(list(t.products()) for t in trees)):
            self._products.setdefault(_home(product, before, after), []).append(product)
        self._tests: dict[_Home, list[SpaceRequest]] = {}
        for tree in trees:
            for request in test_requests(tree):
                self._tests.setdefault(_home(request.product, before, after), []).append(request)
        # What each layer's policies name, on either side (walking policies is the costly part),
        # each with the attributes the schema requires of its type.
        required = _required(before, after)
        self._required_context = _required_context(before, after)
        self._named: dict[str, dict[str, Persona]] = {}
        for tree in trees:
            for layer in tree.layers():
                self._named.setdefault(layer.name, {}).update(
                    named_principals((p.template for p in layer.policies), required)
                )
        self._every = {n: p for named in self._named.values() for n, p in named.items()}
        self.homes = [*self._products, *(h for h in self._tests if h not in self._products)]

    def part(self, home: _Home) -> _Part:
        domains, on_both = home
        local = {
            name: persona
            for layer in (GLOBAL, *domains)
            for name, persona in self._named.get(layer, {}).items()
        }
        synthetic = {**_stand_ins(self._every, local), **local}
        synthetic = {n: p for n, p in synthetic.items() if n not in self._fixtures}
        personas = {**synthetic, **self._fixtures}
        products = self._products.get(home, [])
        dimensions = (personas, self._actions, products, self._contexts, self._required_context)
        tests = self._tests.get(home, ())
        if on_both and len(domains) == 1 and domains[0] in self._same:
            count = space_size(*dimensions, extra=tests)  # counted, never decided: not made
            if count is not None:
                return _Part([], frozenset(synthetic), count, unchanged=True)
        found = {r.key: r for r in space(*dimensions)}
        for request in tests:
            found.setdefault(request.key, request)
        unchanged = on_both and len(domains) == 1 and domains[0] in self._same
        return _Part(list(found.values()), frozenset(synthetic), len(found), unchanged)


def _home(product: str, before: Engine, after: Engine) -> _Home:
    views = [e.snapshot.products.get(product) for e in (before, after)]
    domains = tuple(dict.fromkeys(v.product.domain for v in views if v is not None))
    return domains, all(v is not None for v in views)


def _stand_ins(every: Mapping[str, Persona], local: Mapping[str, Persona]) -> dict[str, Persona]:
    """One of the principals named elsewhere per principal type, the first by name."""
    found: dict[str, tuple[str, Persona]] = {}
    for name in sorted(set(every) - set(local)):
        found.setdefault(every[name].type, (name, every[name]))
    return dict(found.values())


def _required(*engines: Engine) -> Callable[[str], dict[str, Any]]:
    """The attributes either side's schema requires of a principal type, with values of their
    types (the base's where both require one), for the principals `diff` makes up."""
    return _merged(engines, lambda schema: schema.required_properties)


def _required_context(*engines: Engine) -> Callable[[str], dict[str, Any]]:
    """Likewise the context attributes either side's schema requires of an action."""
    return _merged(engines, lambda schema: schema.required_context)


def _merged(
    engines: Sequence[Engine], pick: Callable[[RequestSchema], Callable[[str], dict[str, Any]]]
) -> Callable[[str], dict[str, Any]]:
    def required(name: str) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for engine in reversed(engines):
            schema = engine.snapshot.request_schema
            if schema is not None:
                found.update(pick(schema)(name))
        return found

    return required


def unchanged_domains(base: PolicyTree, candidate: PolicyTree) -> frozenset[str]:
    """Domains whose decisions cannot differ between the sides: the global layer (with the
    org config and schema) and the domain's own files read the same bytes on both (equal
    revisions), and a decision reads only those (domain policies cannot name another domain)."""
    if base.global_layer.revision != candidate.global_layer.revision:
        return frozenset()
    return frozenset(
        name
        for name, layer in base.domains.items()
        if name in candidate.domains and candidate.domains[name].revision == layer.revision
    )


def _without_echoes(flips: list[Flip], synthetic: AbstractSet[str]) -> list[Flip]:
    """A synthetic principal stands for the members no persona represents: its flip is kept
    only where no persona shows the same flip (same change, request and policies)."""

    def shape(flip: Flip) -> tuple[object, ...]:
        request = flip.request
        context = request_key(dict(request.context))
        return (flip.change, request.action, request.product, context, flip.columns,
                flip.responsible)  # fmt: skip

    shown = {shape(f) for f in flips if f.request.persona not in synthetic}
    return [f for f in flips if f.request.persona not in synthetic or shape(f) not in shown]


def decision_space(
    base: PolicyTree, candidate: PolicyTree, personas: Mapping[str, Persona]
) -> list[SpaceRequest]:
    """The union of both sides' actions, products and context values, plus their test requests."""
    actions = _union(
        [a.name for a in base.config.action_specs()],
        [a.name for a in candidate.config.action_specs()],
    )
    products = _union(list(base.products()), list(candidate.products()))
    contexts = context_values(merged_context([base.config, candidate.config]))
    found = {r.key: r for r in space(personas, actions, products, contexts)}
    for tree in (base, candidate):
        for request in test_requests(tree):
            found.setdefault(request.key, request)
    return list(found.values())


def test_requests(tree: PolicyTree) -> list[SpaceRequest]:
    """The requests of every test case of the tree; cases that do not build are skipped."""
    found = []
    for layer in tree.layers():
        for path in layer.tests:
            problems: list[Problem] = []
            document = load_yaml(path, display_path(path), problems)
            parsed = validate_model(document, TestFile, display_path(path), problems)
            for case in parsed.cases if parsed else []:
                try:
                    request = build_request(case.request, tree.fixtures.principals)
                except ValueError:
                    continue
                principal = case.request.get("principal")
                name = principal if isinstance(principal, str) else request["subject"]["id"]
                found.append(SpaceRequest(str(name), request))
    return found


def compare(request: SpaceRequest, old: Decision, new: Decision, domain: str) -> list[Flip]:
    before, after = Answer.of_decision(old), Answer.of_decision(new)
    return [
        Flip(request, domain, change, before, after, responsible, columns)
        for change, responsible, columns in changes(before, after)
    ]


@contextmanager
def materialize(spec: str, subpath: str = "policies", repo: Path | None = None) -> Iterator[Path]:
    """A folder holding the tree `spec` names: the folder itself, or `REV[:PATH]` exported."""
    folder = Path(spec)
    if folder.is_dir():
        yield folder
        return
    if folder.exists():
        raise DiffError(f"`{spec}` is not a folder")
    revision, _, inner = spec.partition(":")
    inner = (inner or subpath).strip("/") or "."
    top = _git(["rev-parse", "--show-toplevel"], repo, f"`{spec}` is not a folder").strip()
    root = Path(top)
    _git(
        ["rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}"],
        root,
        f"`{spec}` is neither a folder nor a git revision",
    )
    archive = subprocess.run(
        ["git", "-C", str(root), "archive", "--format=tar", revision, "--", inner],
        capture_output=True,
        check=False,
    )
    if archive.returncode != 0:
        raise DiffError(f"revision `{revision}` has no folder `{inner}`")
    with tempfile.TemporaryDirectory(prefix="govern-diff-") as temp:
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            tar.extractall(temp, filter="data")
        yield Path(temp) / inner


def _git(args: list[str], cwd: Path | None, failure: str) -> str:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    except FileNotFoundError as exc:
        raise DiffError(f"{failure} (git is not installed)") from exc
    if done.returncode != 0:
        raise DiffError(failure)
    return done.stdout


def _engine(
    side: str,
    path: Path,
    evaluator: EvaluatorName,
    now: dt.datetime,
    reuse: Engine | None = None,
) -> Engine:
    """The side's engine; built from `reuse`'s snapshot where their revisions are equal, and
    its tree read with `reuse`'s parse of every file whose bytes are the same (both sides are
    named relative to their roots, so the results name the candidate's files rightly)."""
    previous = None if reuse is None else reuse.snapshot
    tree, problems = load_tree(
        path, tree_relative=True, previous=None if previous is None else previous.tree
    )
    if tree is None or any(p.severity == "error" for p in problems):
        raise SideLoadError(side, shown_from(path, problems))
    return Engine(build_snapshot(tree, problems, evaluator, previous), clock=lambda: now)


def _personas(fixtures: Path | None, base: PolicyTree, candidate: PolicyTree) -> dict[str, Persona]:
    if fixtures is None:
        return {**base.fixtures.principals, **candidate.fixtures.principals}
    problems: list[Problem] = []
    parsed = read_model(fixtures, FixturesFile, problems)
    if parsed is None:
        raise SideLoadError(
            "fixtures", problems or [Problem(Location(str(fixtures)), "schema", "bad fixtures")]
        )
    return dict(parsed.principals)


def _domain(product: str, before: Engine, after: Engine) -> str:
    for engine in (after, before):
        view = engine.snapshot.products.get(product)
        if view is not None:
            return view.product.domain
    return "(unknown)"


def _union(first: list[str], second: list[str]) -> list[str]:
    return first + [item for item in second if item not in first]


__all__ = [
    "CHANGES",
    "Answer",
    "DiffError",
    "DiffResult",
    "Flip",
    "SideLoadError",
    "compare",
    "decision_space",
    "materialize",
    "request_key",
    "run_diff",
    "unchanged_domains",
]
