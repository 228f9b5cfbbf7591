"""`govern diff`: exactly the decisions that flip, grouped, granted first; paths and git revisions."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.cli.conftest import POLICIES, REPO, run

PURPOSES = ["analytics", "reporting", "marketing", "fraud_detection", "support",
            "hr_administration", "audit", "ml_training"]  # fmt: skip


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_one_changed_grant_flips_exactly_the_decisions_it_governs(org: Path) -> None:
    # Support may now read the customer master for any purpose, not only during a support case.
    _edit(org / "domains/sales/access/grants.cedar",
          'when { context has purpose && context.purpose == "support" };', ";")  # fmt: skip
    result = run("diff", str(POLICIES), str(org), "--format", "json", "--at", "2026-06-01")
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    flips = {
        (f["change"], f["persona"], f["authzen"]["action"]["name"], f["authzen"]["resource"]["id"],
         f["authzen"]["context"].get("purpose"))
        for f in report["flips"]
    }  # fmt: skip
    # judy (customer support) gains every approved purpose but `support`, which she already had;
    # no purpose and `ml_training` stay forbidden by the global pii-approved-purposes guardrail.
    approved = set(PURPOSES) - {"support", "ml_training"}
    assert flips == {("granted", "judy", "read", "sales.customers", p) for p in approved}
    assert len(report["flips"]) == len(flips)  # the test-file request is not counted twice
    assert {tuple(f["responsible"]) for f in report["flips"]} == {("sales/support-read-customers",)}
    assert report["newly_granted"] == 6


def test_fail_on_grant_and_the_markdown_pull_request_comment(org: Path) -> None:
    _edit(org / "domains/sales/access/grants.cedar",
          'when { context has purpose && context.purpose == "support" };', ";")  # fmt: skip
    result = run("diff", str(POLICIES), str(org), "--format", "markdown", "--fail-on-grant")
    assert result.exit_code == 1
    comment = result.stdout
    assert comment.startswith("## govern diff: policy impact")
    assert "| `sales` | `sales/support-read-customers` | 6 |" in comment
    assert "- judy read sales.customers [purpose=audit]: not permitted → permitted" in comment


def test_revocations_and_masks_come_after_grants(org: Path) -> None:
    # Marketing analysts lose their grant; the clearance guardrail no longer masks clearance 2.
    _edit(org / "domains/marketing/access/grants.cedar",
          'principal in Group::"marketing-analysts",', 'principal in Group::"analysts-v2",')  # fmt: skip
    _edit(org / "global/access/guardrails.cedar",
          "principal.clearance >= 3", "principal.clearance >= 2")  # fmt: skip
    report = json.loads(run("diff", str(POLICIES), str(org), "--format", "json").stdout)
    changes = [f["change"] for f in report["flips"]]
    assert changes == sorted(changes, key=["granted", "unmasked", "revoked", "masked"].index)
    revoked = [f for f in report["flips"] if f["change"] == "revoked"]
    assert revoked and {f["domain"] for f in revoked} == {"marketing"}
    assert all(f["responsible"] == ["marketing/analysts-read"] for f in revoked)
    # carol is also in campaign-ops, which still grants her campaign_performance; a member of
    # marketing-analysts alone loses it too, and only the synthetic member shows that.
    assert {f["persona"] for f in revoked} == {"carol", "<member of marketing-analysts>"}
    assert {f["authzen"]["resource"]["id"] for f in revoked if f["persona"] != "carol"} >= {
        "marketing.campaign_performance"
    }
    unmasked = [f for f in report["flips"] if f["change"] == "unmasked"]
    assert {(f["persona"], f["domain"], tuple(f["columns"])) for f in unmasked} == {
        ("alice", "sales", ("payment_card_number",))
    }
    assert all(f["responsible"] == ["global/restricted-columns-need-clearance"] for f in unmasked)
    text = run("diff", str(POLICIES), str(org)).stdout
    assert text.index("COLUMNS NEWLY VISIBLE (MASK LIFTED)") < text.index("ACCESS REVOKED")


def test_identical_trees_have_no_flips() -> None:
    result = run("diff", str(POLICIES), str(POLICIES), "--fail-on-grant")
    assert result.exit_code == 0
    assert "no decision flips over" in result.stdout


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_a_side_may_be_a_git_revision(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(POLICIES, repo / "policies")
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "base"], check=True)
    _edit(repo / "policies/domains/sales/access/grants.cedar",
          'when { context has purpose && context.purpose == "support" };', ";")  # fmt: skip
    from governance.tools.diff import run_diff

    result = run_diff("HEAD", str(repo / "policies"), repo=repo)
    assert len(result.granted) == 6
    spelled = run_diff("HEAD:policies", str(repo / "policies"), repo=repo)
    assert len(spelled.flips) == 6


def test_a_side_that_is_neither_folder_nor_revision_is_a_usage_error() -> None:
    result = run("diff", "no-such-revision-or-folder", str(POLICIES))
    assert result.exit_code == 2
    assert "neither a folder nor a git revision" in result.stderr


def test_a_side_that_does_not_load_exits_1(tmp_path: Path) -> None:
    broken = REPO / "tests/fixtures/broken/cedar-syntax"
    result = run("diff", str(POLICIES), str(broken))
    assert result.exit_code == 1
    assert "the candidate tree does not load" in result.stderr
    assert "cedar-syntax" in result.stderr


def test_unchanged_domains_are_skipped_and_the_flips_stay_exact(org: Path) -> None:
    import datetime as dt

    from governance.tools.diff import run_diff

    _edit(org / "domains/sales/access/grants.cedar",
          'when { context has purpose && context.purpose == "support" };', ";")  # fmt: skip
    moment = dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC)
    result = run_diff(str(POLICIES), str(org), now=moment)
    # Only sales changed: every request on another domain's product is equal by construction.
    assert 0 < result.unchanged < result.requests
    assert {f.domain for f in result.flips} == {"sales"}
    # The same flips as deciding everything: a global change (a comment) disables the skip.
    with (org / "global/classification.yaml").open("a") as handle:
        handle.write("# touched\n")
    full = run_diff(str(POLICIES), str(org), now=moment)
    assert full.unchanged == 0 and full.requests == result.requests
    key = [(f.change, f.request.key) for f in result.flips]
    assert sorted(key) == sorted((f.change, f.request.key) for f in full.flips)


def test_persona_requests_take_the_fast_request_reader() -> None:
    from governance.access.request import fast_authzen
    from governance.tools.decision_space import persona_request
    from governance.tree.load import load_tree

    tree, _ = load_tree(POLICIES)
    assert tree is not None
    for persona in tree.fixtures.principals.values():
        request = persona_request(persona, "read", "sales.orders", {"purpose": "analytics"})
        assert fast_authzen(request) is not None, persona.id


def test_fail_on_grant_sees_a_grant_to_a_group_no_persona_belongs_to(org: Path) -> None:
    grants = org / "domains/finance/access/grants.cedar"
    grants.write_text(grants.read_text() + '\n@id("interns-everything")\npermit (principal in '
                      'Group::"interns", action, resource in Domain::"finance");\n')  # fmt: skip
    result = run("diff", str(POLICIES), str(org), "--format", "json", "--fail-on-grant")
    assert result.exit_code == 1
    granted = [f for f in json.loads(result.stdout)["flips"] if f["change"] == "granted"]
    assert granted and {f["persona"] for f in granted} == {"<member of interns>"}
    assert {f["domain"] for f in granted} == {"finance"}
    assert {tuple(f["responsible"]) for f in granted} == {("finance/interns-everything",)}


def test_a_group_named_only_in_a_condition_gets_a_synthetic_member(org: Path) -> None:
    grants = org / "domains/finance/access/grants.cedar"
    grants.write_text(grants.read_text() + '\n@id("auditors-read")\npermit (principal, action == '
                      'Action::"read", resource in Domain::"finance") when { principal in '
                      'Group::"external-auditors" };\n')  # fmt: skip
    result = run("diff", str(POLICIES), str(org), "--format", "json", "--fail-on-grant")
    assert result.exit_code == 1
    flips = json.loads(result.stdout)["flips"]
    assert {f["persona"] for f in flips} == {"<member of external-auditors>"}


EDITS = {
    "a group no persona belongs to": ("domains/finance/access/grants.cedar", '\n@id("interns")\n'
        'permit (principal in Group::"interns", action, resource in Domain::"finance");\n'),
    "everyone outside a group named in another domain": ("domains/sales/access/grants.cedar",
        '\n@id("not-fraud")\npermit (principal, action == Action::"read", resource in '
        'Domain::"sales") unless { principal in Group::"fraud-team" };\n'),
    "a user named only in a guardrail": ("global/access/guardrails.cedar", '\n@id("no-mallory")\n'
        'forbid (principal == User::"mallory", action, resource);\n'),
}  # fmt: skip


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_the_per_domain_space_misses_no_flip_of_the_whole_space(org: Path, edit: str) -> None:
    import datetime as dt

    from governance.tools.decision_space import named_principals
    from governance.tools.diff import _engine, _required, compare, decision_space, run_diff

    file, added = EDITS[edit]
    (org / file).write_text((org / file).read_text() + added)
    moment = dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC)
    result = run_diff(str(POLICIES), str(org), now=moment)
    # The whole space: every principal either side names, on every product of every domain.
    before, after = (
        _engine("base", POLICIES, "compiled", moment),
        _engine("c", org, "compiled", moment),
    )
    policies = [p.template for e in (before, after) for p in e.snapshot.tree.policies()]
    required = _required(before, after)
    personas = {**named_principals(policies, required), **before.snapshot.tree.fixtures.principals}
    whole = [
        flip
        for request in decision_space(before.snapshot.tree, after.snapshot.tree, personas)
        for flip in compare(request, before.decide(request.request), after.decide(request.request), "")
    ]  # fmt: skip

    def shapes(flips: list) -> set[tuple[object, ...]]:
        return {(f.change, f.request.action, f.request.product,
                 json.dumps(dict(f.request.context), sort_keys=True)) for f in flips}  # fmt: skip

    assert whole and shapes(result.flips) == shapes(whole)
    assert result.requests < len(
        decision_space(before.snapshot.tree, after.snapshot.tree, personas)
    )


def test_synthetic_members_carry_what_the_schema_requires(tmp_path: Path) -> None:
    # With `clearance` required, a member made up without it would be refused on both sides
    # (as Cedar given the schema refuses it) and the new grant would go unseen.
    base, candidate = tmp_path / "base", tmp_path / "candidate"
    for side in (base, candidate):
        shutil.copytree(POLICIES, side)
        _edit(side / "schema.cedarschema", "clearance?: Long", "clearance: Long")
    grants = candidate / "domains/finance/access/grants.cedar"
    grants.write_text(grants.read_text() + '\n@id("interns-everything")\npermit (principal in '
                      'Group::"interns", action, resource in Domain::"finance");\n')  # fmt: skip
    result = run("diff", str(base), str(candidate), "--format", "json", "--fail-on-grant")
    assert result.exit_code == 1, result.stdout
    granted = [f for f in json.loads(result.stdout)["flips"] if f["change"] == "granted"]
    assert {f["persona"] for f in granted} == {"<member of interns>"}
    assert all(f["authzen"]["subject"]["properties"]["clearance"] == 0 for f in granted)


def test_a_required_context_attribute_does_not_blind_fail_on_grant(tmp_path: Path) -> None:
    # With `ticket` required and enumerated nowhere, every request the space made up without
    # it would be refused on both sides and the new grant would go unseen.
    base, candidate = tmp_path / "base", tmp_path / "candidate"
    for side in (base, candidate):
        shutil.copytree(POLICIES, side)
        _edit(side / "schema.cedarschema", "ticket?: String", "ticket: String")
    grants = candidate / "domains/finance/access/grants.cedar"
    grants.write_text(grants.read_text() + '\n@id("interns-everything")\npermit (principal in '
                      'Group::"interns", action, resource in Domain::"finance");\n')  # fmt: skip
    result = run("diff", str(base), str(candidate), "--format", "json", "--fail-on-grant")
    assert result.exit_code == 1, result.stdout
    granted = [f for f in json.loads(result.stdout)["flips"] if f["change"] == "granted"]
    assert {f["persona"] for f in granted} == {"<member of interns>"}
    assert all(f["authzen"]["context"]["ticket"] == "" for f in granted)
    # An enumerated attribute the schema requires keeps its values, and stands in for its
    # absence with a value of its type.
    purposes = {f["authzen"]["context"].get("purpose") for f in granted}
    assert len(purposes) > 1


def test_the_candidate_is_built_from_the_base_where_domains_are_unchanged(org: Path) -> None:
    import datetime as dt

    from governance.tools.diff import _engine

    _edit(org / "domains/sales/access/grants.cedar", 'Group::"sales-analysts"', 'Group::"x"')
    moment = dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC)
    before = _engine("base", POLICIES, "compiled", moment)
    after = _engine("candidate", org, "compiled", moment, before)
    # Only the edited domain is built afresh; the others' plans are the base's own objects.
    assert after.snapshot.rebuilt == frozenset({"sales"})
    kept = after.snapshot.plan_keys["finance"]
    assert kept and all(after.snapshot.plans[k] is before.snapshot.plans[k] for k in kept)
