"""`govern check`: every problem of a policy tree in one run, and the exit code it earns.

The loader and validation stages find what makes a tree unusable; this module adds the analyses
that find what makes it misleading (rules with no effect, lapsing waivers, dead permits), then
runs the policy tests. Nothing here prints: renderers in `governance.report` do.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from governance.access.request import from_authzen
from governance.engine import Engine
from governance.errors import LoadError, Location, Problem, RequestError
from governance.rules.classification import Classifier
from governance.rules.masking import masking_findings
from governance.rules.retention import RetentionResolver
from governance.snapshot import EvaluatorName, Snapshot, build_snapshot
from governance.tools.dead_policies import dead_policies
from governance.tools.decision_space import persona_request
from governance.tools.policy_tests import TestReport, run_tests, run_tests_on
from governance.tools.progress import Progress, no_progress
from governance.tree.layers import PolicyTree
from governance.tree.load import display_path, load_tree

# Every code `govern check` can report, with the one-line description code-scanning UIs show.
CHECKS: dict[str, str] = {
    "not-found": "the policy tree path does not exist",
    "not-a-tree": "the folder is not a policy tree",
    "missing-file": "a required file of the tree is missing",
    "missing-schema": "the tree has no schema.cedarschema",
    "io": "a file cannot be read",
    "not-text": "a file is binary or not UTF-8",
    "yaml": "YAML syntax error",
    "schema": "a YAML file does not match its format",
    "bad-duration": "a retention duration cannot be parsed",
    "cedar-syntax": "Cedar syntax error",
    "cedar-unsupported": "Cedar text govern cannot read statement by statement",
    "cedar-schema": "a Cedar policy does not validate against the schema",
    "missing-id": 'a Cedar policy has no @id("...")',
    "bad-id": "a Cedar policy @id is not a valid identifier",
    "duplicate-id": "an id is defined twice in one layer",
    "unknown-level": "a classification level that is not on the scale",
    "unknown-entity": "a policy names an unknown action, domain, product or column",
    "scope-violation": "a domain's policy, rule, hold or waiver names another domain's entity",
    "domain-mismatch": "a domain or product names a different domain than its folder",
    "bad-product-id": "a product id does not begin with its domain, or contains `/`",
    "action-cycle": "an action is its own parent or ancestor in governance.yaml",
    "snapshot": "the evaluation snapshot could not be built from the tree",
    "locked-in-domain": "a domain retention rule says `locked` (global layer only)",
    "retention-conflict": "a retention rule's min exceeds its own max",
    "overridden-by-locked-rule": "a domain retention bound a locked global rule overrides",
    "exceeds-locked-max": "a domain retention min longer than a locked global max",
    "below-global-floor": "a domain classification below a global floor (no effect)",
    "masking-no-effect": "a domain masking rule that never makes a mask stricter",
    "unknown-label": "a masking rule names a label no classification rule gives",
    "unknown-policy": "a waiver names an unknown global policy",
    "not-waivable": "a waiver names a policy that is not a waivable guardrail",
    "unknown-domain": "a waiver names an unknown domain",
    "bad-persona": "a fixtures.yaml persona is not a valid request subject",
    "waiver-expired": "a waiver has expired and applies nowhere",
    "waiver-expiring": "a waiver expires soon",
    "dead-policy": "a domain permit that a global guardrail always overrides",
    "compiler-fallback": "a policy the compiled evaluator hands to cedarpy",
    "test-failed": "a policy test failed",
}

_TREE_MARKERS = ("governance.yaml", "schema.cedarschema", "global", "domains")


@dataclass(frozen=True, slots=True)
class CheckOptions:
    today: dt.date
    warn_expiring: int | None = None  # days; None reports only expired waivers
    run_tests: bool = True
    strict: bool = False  # warnings fail the check too
    evaluator: EvaluatorName = "compiled"


@dataclass(slots=True)
class CheckReport:
    path: str
    problems: list[Problem]
    tests: TestReport | None
    strict: bool = False
    checks: tuple[str, ...] = field(default=tuple(CHECKS))

    def fails(self, problem: Problem) -> bool:
        return problem.severity == "error" or self.strict

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if self.fails(p)]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if not self.fails(p)]

    @property
    def failed_tests(self) -> int:
        return 0 if self.tests is None else sum(not r.passed for r in self.tests.results)

    @property
    def exit_code(self) -> int:
        """0 clean (warnings allowed unless strict), 1 errors or failed tests."""
        return 1 if self.errors or self.failed_tests else 0


def run_check(
    path: str | Path, options: CheckOptions, progress: Progress = no_progress
) -> CheckReport:
    """Every problem of the tree at `path`, never raising: the tree is loaded once and its
    snapshot built once, and every analysis and policy test runs on that one snapshot."""
    root = Path(path)
    shown = display_path(root)
    if root.is_dir() and not any((root / marker).exists() for marker in _TREE_MARKERS):
        message = "not a policy tree: no governance.yaml, schema.cedarschema, global/ or domains/"
        return CheckReport(shown, [Problem(Location(shown), "not-a-tree", message)], None)
    tree, loaded = load_tree(root)
    problems = list(loaded)
    if tree is None:
        return CheckReport(shown, problems, None, options.strict)
    snapshot = _snapshot(tree, problems, options.evaluator)
    problems += _analyses(tree, snapshot, problems, options)
    if snapshot is None or any(p.severity == "error" for p in problems):
        return CheckReport(shown, sorted(set(problems)), None, options.strict)
    problems += _evaluated(snapshot, options, progress)
    tests = None
    if options.run_tests:
        tests = run_tests_on(Engine(snapshot), [], progress)
        problems += [p for p in tests.problems if p not in problems]
    return CheckReport(shown, sorted(set(problems)), tests, options.strict)


def check_tree(
    path: str | Path,
    *,
    today: dt.date | None = None,
    run_tests: bool = True,
    evaluator: EvaluatorName = "compiled",
) -> CheckReport:
    """The public entry for tooling: every problem of a tree (load errors, analyses, failed
    policy tests) in one report, never raising; `today` defaults to the UTC date."""
    when = today or dt.datetime.now(dt.UTC).date()
    return run_check(path, CheckOptions(when, run_tests=run_tests, evaluator=evaluator))


def _analyses(
    tree: PolicyTree, snapshot: Snapshot | None, problems: list[Problem], options: CheckOptions
) -> list[Problem]:
    """Findings that need a loaded tree but no evaluator: they run even when the tree has errors
    (then classifying here; otherwise reading the snapshot's classification)."""
    found = waiver_findings(tree, options.today, options.warn_expiring) + persona_findings(tree)
    levels_ok = not any(p.code == "unknown-level" for p in problems)
    if levels_ok:
        classifier, resolver = Classifier(tree), RetentionResolver(tree)
        classified = []
        for product in tree.products().values():
            found += classifier.floor_findings(product)
            view = snapshot.products.get(product.id) if snapshot is not None else None
            classification = view.classification if view else classifier.classify(product)
            found += resolver.override_findings(product, classification.product)
            classified.append((product, classification))
        found += masking_findings(tree, classified)
    return found


def persona_findings(tree: PolicyTree) -> list[Problem]:
    """A persona of fixtures.yaml the engine would refuse as a request (groups that are not a
    list of strings, a value Cedar cannot hold) tests nothing: it is an error, not a silent deny."""
    found = []
    location = tree.fixtures_location or Location(display_path(tree.root / "fixtures.yaml"))
    for name, persona in tree.fixtures.principals.items():
        request = persona_request(persona, "read", "any.product", {})  # only the subject counts
        try:
            from_authzen(request)
        except RequestError as exc:
            message = f"persona `{name}` is not a valid request subject: {exc}"
            found.append(Problem(location, "bad-persona", message))
    return found


def waiver_findings(tree: PolicyTree, today: dt.date, warn_days: int | None) -> list[Problem]:
    """Expired waivers (they apply nowhere) and, with `warn_days`, those about to expire."""
    found = []
    for sourced in tree.global_layer.waivers:
        waiver = sourced.item
        left = (waiver.expires - today).days
        if left < 0:
            message = (
                f"waiver `{waiver.id}` expired on {waiver.expires}: it applies nowhere; "
                "renew it or remove it"
            )
            found.append(Problem(sourced.location, "waiver-expired", message, "warning"))
        elif warn_days is not None and left <= warn_days:
            when = "today" if left == 0 else f"in {left} day{'s' if left != 1 else ''}"
            message = f"waiver `{waiver.id}` expires {when} ({waiver.expires})"
            found.append(Problem(sourced.location, "waiver-expiring", message, "warning"))
    return found


def _snapshot(
    tree: PolicyTree, problems: list[Problem], evaluator: EvaluatorName
) -> Snapshot | None:
    try:
        return build_snapshot(tree, problems, evaluator)
    except LoadError:
        return None


def _evaluated(
    snapshot: Snapshot, options: CheckOptions, progress: Progress = no_progress
) -> list[Problem]:
    """Findings that need an evaluator: dead permits, and policies the compiler cannot run."""
    noon = dt.datetime.combine(options.today, dt.time(12), dt.UTC)
    engine = Engine(snapshot, clock=lambda: noon)
    found = [dead.problem() for dead in dead_policies(engine, options.today, progress=progress)]
    refs = {p.full_id: p for p in snapshot.tree.policies()}
    reasons = snapshot.evaluator.fallback_reasons()
    for policy_id in sorted(snapshot.evaluator.fallback_policies()):
        policy = refs.get(policy_id)
        location = (
            policy.location if policy else Location(snapshot.tree.display(snapshot.tree.root))
        )
        message = (
            f"`{policy_id}` is evaluated by cedarpy, not the compiled evaluator (slower "
            f"decisions): {reasons.get(policy_id, 'no reason recorded')}"
        )
        found.append(Problem(location, "compiler-fallback", message, "warning"))
    return found


@dataclass(frozen=True, slots=True)
class TestOutcome:
    """`govern test`: the test report, judged against an optional coverage threshold."""

    report: TestReport
    min_coverage: float | None = None

    @property
    def shortfalls(self) -> list[str]:
        """Each coverage measure below the threshold, as `what: got% < wanted%`."""
        if self.min_coverage is None:
            return []
        coverage, wanted = self.report.coverage, self.min_coverage
        measures = {
            "policies that determined a decision": coverage.policy_share,
            "domain x action pairs exercised": coverage.pair_share,
        }
        return [
            f"{name}: {share:.1f}% < {wanted:g}%"
            for name, share in measures.items()
            if share + 1e-9 < wanted
        ]

    @property
    def exit_code(self) -> int:
        return 0 if self.report.passed and not self.shortfalls else 1


def run_policy_tests(
    path: str | Path,
    evaluator: EvaluatorName = "compiled",
    min_coverage: float | None = None,
    progress: Progress = no_progress,
) -> TestOutcome:
    return TestOutcome(run_tests(path, evaluator, progress), min_coverage)
