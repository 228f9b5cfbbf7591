"""SPEC 3.6 waivers: governed, expiring exceptions from waivable global guardrails."""

from __future__ import annotations

import pytest

from governance import LoadError
from tests.treebuilder import TreeBuilder, fixed_clock, request

GUARDRAILS = """\
@id("no-export")
@reason("Nothing is exported.")
@waivable("true")
forbid (principal, action == Action::"export", resource);

@id("no-delete")
@reason("Nothing is deleted.")
forbid (principal, action == Action::"delete", resource);

@id("baseline")
permit (principal, action, resource);
"""


def waiver(
    wid="campaign-export",
    policy="global/no-export",
    domain="marketing",
    expires="2026-12-31",
    **narrowing,
):
    return {
        "id": wid,
        "policy": policy,
        "domain": domain,
        **narrowing,
        "reason": "Quarterly export",
        "approver": "dpo@example.org",
        "ticket": "GOV-1",
        "expires": expires,
    }


@pytest.fixture
def tree(tmp_path):
    t = TreeBuilder(tmp_path)
    t.cedar("global", GUARDRAILS, "guardrails.cedar")
    t.product("marketing.audiences", ["audience_id"])
    t.product("marketing.sessions", ["session_id"])
    t.product("sales.orders", ["order_id"])
    return t


def export(product="marketing.audiences", groups=("campaign-ops",), action="export", **kw):
    return request("bob", action, product, groups=groups, columns=[], **kw)


NARROW = {"groups": ["campaign-ops"], "products": ["marketing.aud*"], "actions": ["export"]}


def test_active_waiver_lifts_the_guardrail_and_is_named(tree):
    tree.waivers([waiver(**NARROW)])
    d = tree.engine(clock=fixed_clock("2026-06-01")).decide(export()).to_dict()
    assert d["allowed"] is True
    assert d["access"]["kind"] == "permitted"
    assert d["access"]["waivers"] == ["global/campaign-export"]
    assert [p["id"] for p in d["access"]["policies"]] == ["global/baseline"]


def test_without_waiver_the_guardrail_forbids(tree):
    d = tree.engine().decide(export()).to_dict()
    assert d["access"]["kind"] == "forbidden"
    assert d["access"]["waivers"] == []


@pytest.mark.parametrize(
    ("label", "req"),
    [
        ("other domain", export(product="sales.orders")),
        ("other group", export(groups=("analysts",))),
        ("no group", export(groups=())),
        ("other product", export(product="marketing.sessions")),
    ],
)
def test_waiver_applies_only_where_it_matches(tree, label, req):
    tree.waivers([waiver(**NARROW)])
    d = tree.engine().decide(req).to_dict()
    assert d["allowed"] is False, label
    assert d["access"]["kind"] == "forbidden"
    assert [p["id"] for p in d["access"]["policies"]] == ["global/no-export"]
    assert d["access"]["waivers"] == []


def test_waiver_for_one_action_does_not_lift_others(tmp_path):
    t = TreeBuilder(tmp_path)
    t.cedar(
        "global",
        '@id("no-move")\n@waivable("true")\n'
        'forbid (principal, action in [Action::"export", Action::"share"], resource);\n'
        '@id("baseline")\npermit (principal, action, resource);\n',
    )
    t.product("marketing.audiences", ["audience_id"])
    t.waivers([waiver(policy="global/no-move", actions=["export"])])
    engine = t.engine()
    assert engine.decide(export()).allowed
    assert engine.decide(export(action="share")).to_dict()["access"]["kind"] == "forbidden"


def test_waiver_narrowed_to_principals(tree):
    tree.waivers([waiver(principals=["carol"])])
    engine = tree.engine()
    assert not engine.decide(export()).allowed  # bob
    carol = request("carol", "export", "marketing.audiences", columns=[])
    assert engine.decide(carol).allowed


def test_unnarrowed_waiver_covers_the_whole_domain(tree):
    tree.waivers([waiver()])
    engine = tree.engine()
    assert engine.decide(export(groups=())).allowed
    assert engine.decide(export(product="marketing.sessions")).allowed
    assert not engine.decide(export(product="sales.orders")).allowed


def test_waiver_applies_through_its_expiry_day_and_nowhere_after(tree):
    tree.waivers([waiver(expires="2026-12-31", **NARROW)])
    on_the_day = tree.engine(clock=fixed_clock("2026-12-31")).decide(export()).to_dict()
    assert on_the_day["allowed"] is True
    assert on_the_day["access"]["waivers"] == ["global/campaign-export"]
    day_after = tree.engine(clock=fixed_clock("2027-01-01")).decide(export()).to_dict()
    assert day_after["allowed"] is False
    assert day_after["access"]["kind"] == "forbidden"
    assert day_after["access"]["waivers"] == []


def test_expired_waiver_loads_but_applies_nowhere(tree):
    tree.waivers([waiver(expires="2020-01-01")])
    engine = tree.engine(clock=fixed_clock("2026-06-01"))
    for product in ("marketing.audiences", "marketing.sessions"):
        assert not engine.decide(export(product=product)).allowed


def test_waiver_of_non_waivable_guardrail_is_a_load_error(tree):
    path = tree.waivers([waiver(policy="global/no-delete")])
    with pytest.raises(LoadError) as exc:
        tree.engine()
    [problem] = exc.value.errors
    assert problem.code == "not-waivable"
    assert problem.location.file == tree.rel("global/waivers.yaml")
    assert problem.location.line == 2
    assert "global/no-delete" in problem.message
    assert path.exists()


def test_waiver_of_a_permit_is_a_load_error(tree):
    tree.waivers([waiver(policy="global/baseline")])
    with pytest.raises(LoadError) as exc:
        tree.engine()
    assert [p.code for p in exc.value.errors] == ["not-waivable"]


def test_waiver_of_unknown_policy_is_a_load_error(tree):
    tree.waivers([waiver(policy="global/no-such-guardrail")])
    with pytest.raises(LoadError) as exc:
        tree.engine()
    [problem] = exc.value.errors
    assert problem.code == "unknown-policy"
    assert "global/no-such-guardrail" in problem.message


def test_waiver_of_a_domain_policy_is_a_load_error(tree):
    tree.cedar(
        "marketing",
        '@id("local-forbid")\n@waivable("true")\nforbid (principal, action, resource);\n',
    )
    tree.waivers([waiver(policy="marketing/local-forbid")])
    with pytest.raises(LoadError) as exc:
        tree.engine()
    assert {p.code for p in exc.value.errors} & {"unknown-policy", "not-waivable"}


def test_waiver_does_not_lift_a_domain_forbid(tree):
    tree.cedar(
        "marketing", '@id("local")\nforbid (principal, action == Action::"export", resource);\n'
    )
    tree.waivers([waiver(**NARROW)])
    d = tree.engine().decide(export()).to_dict()
    assert d["access"]["kind"] == "forbidden"
    assert [p["id"] for p in d["access"]["policies"]] == ["marketing/local"]


def test_bad_expiry_date_is_a_located_load_error(tree):
    tree.waivers([waiver(expires="someday")])
    with pytest.raises(LoadError) as exc:
        tree.engine()
    [problem] = exc.value.errors
    assert problem.location.file == tree.rel("global/waivers.yaml")
    assert problem.location.line > 1
    assert "expires" in problem.message
