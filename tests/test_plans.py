"""Access plans on the compiled evaluator: built when the snapshot is, shared between resources
whose residual policies are the same, and answering exactly as the policies say."""

from __future__ import annotations

import pytest

from governance.compiler import EntityUID
from tests.treebuilder import TreeBuilder, column, request

POLICIES = """\
@id("pii-purpose")
forbid (principal, action, resource)
when { resource.tags.contains("pii") && !(context has purpose && context.purpose == "support") };

@id("stewards")
permit (principal in Group::"stewards", action == Action::"read", resource);

@id("confidential-needs-clearance")
forbid (principal, action, resource)
when { resource.sensitivity >= 2 && !(principal has clearance && principal.clearance >= 2) };
"""


@pytest.fixture
def engine(tmp_path):
    t = TreeBuilder(tmp_path)
    t.product(
        "sales.orders",
        [
            "order_id",
            column("email", "confidential", tags=["pii"]),
            column("phone", "confidential", tags=["pii"]),
            column("margin", "confidential"),
        ],
    )
    t.cedar("global", POLICIES)
    return t.engine(evaluator="compiled")


def _plan(engine, action, resource_type, resource_id):
    return engine.snapshot.plans[(action, "sales"), EntityUID(resource_type, resource_id)]


def test_every_catalog_target_is_planned_when_the_snapshot_is_built(engine):
    plans = engine.snapshot.plans
    planned = len(plans)
    assert planned > 0
    view = engine.snapshot.products["sales.orders"]
    for action in engine.snapshot.actions:
        for resource in (view.resource, *(c.resource for c in view.maskable)):
            assert ((action, "sales"), resource) in plans
    for columns in (None, ["email"], ["margin", "order_id"]):
        for groups in ([], ["stewards"]):
            engine.decide(request(groups=groups, clearance=3, columns=columns))
    assert len(plans) == planned  # no request had to build one


def test_the_reference_evaluator_has_a_cedarpy_plan_for_every_target(tmp_path):
    from governance.access.cedar_evaluator import CedarPlan

    t = TreeBuilder(tmp_path)
    t.product("sales.orders", ["order_id", column("email", "confidential", tags=["pii"])])
    t.cedar("global", POLICIES)
    snapshot = t.engine(evaluator="reference").snapshot
    view = snapshot.products["sales.orders"]
    for action in snapshot.actions:
        for resource in (view.resource, *(c.resource for c in view.maskable)):
            plan = snapshot.plans[(action, "sales"), resource]
            assert isinstance(plan, CedarPlan)
    read = snapshot.plans[("read", "sales"), view.resource]
    assert "global/stewards" in read.policy_ids


def test_columns_with_the_same_residual_policies_share_one_plan(engine):
    email = _plan(engine, "read", "Column", "sales.orders/email")
    phone = _plan(engine, "read", "Column", "sales.orders/phone")
    margin = _plan(engine, "read", "Column", "sales.orders/margin")
    assert email is phone
    assert margin is not email  # not pii: the purpose guardrail cannot apply to it
    assert "global/pii-purpose" not in margin.policy_ids
    assert "global/pii-purpose" in email.policy_ids


def test_policies_for_another_action_are_not_in_the_plan(engine):
    assert "global/stewards" in _plan(engine, "read", "DataProduct", "sales.orders").policy_ids
    assert "global/stewards" not in _plan(engine, "write", "DataProduct", "sales.orders").policy_ids


@pytest.mark.parametrize(
    ("clearance", "purpose", "masked"),
    [
        (3, "support", []),
        (3, "analytics", ["email", "phone"]),
        (3, None, ["email", "phone"]),
    ],
)
def test_shared_plans_answer_for_each_column(engine, clearance, purpose, masked):
    context = {} if purpose is None else {"purpose": purpose}
    decision = engine.decide(request(groups=["stewards"], clearance=clearance, context=context))
    assert decision.allowed
    assert sorted(m.column for m in decision.masks) == masked
    assert all(m.policies[0].id == "global/pii-purpose" for m in decision.masks)


def test_the_product_plan_denies_what_its_policies_forbid(engine):
    decision = engine.decide(request(groups=["stewards"], clearance=1))
    assert decision.access.kind == "forbidden"
    assert [p.id for p in decision.access.policies] == ["global/confidential-needs-clearance"]


def test_plans_that_cannot_be_fused_answer_the_same(monkeypatch, engine):
    import governance.access.plans
    from governance.errors import CompileError

    def refuse(templates, positions=None, bodies=None, *, store_is_principal=False):
        raise CompileError("too deep to fuse")

    requests = [
        request(groups=groups, clearance=clearance, context=context)
        for groups in ([], ["stewards"])
        for clearance in (1, 3)
        for context in ({}, {"purpose": "support"})
    ]
    expected = [engine.decide(r).to_dict() for r in requests]
    monkeypatch.setattr(governance.access.plans, "compile_fused", refuse)
    unfused = type(engine).from_path(engine.snapshot.tree.root, evaluator="compiled")
    for r, want in zip(requests, expected, strict=True):
        got = unfused.decide(r).to_dict()
        assert (got["access"], got["masks"]) == (want["access"], want["masks"])


def test_a_slice_the_compiler_leaves_to_cedarpy_gets_cedarpy_plans_in_the_same_table(
    monkeypatch, tmp_path
):
    import governance.access.compiled_evaluator as compiled
    from governance.access.cedar_evaluator import CedarPlan
    from governance.access.plans import FusedPlan
    from governance.errors import CompileError

    real = compiled.compile_policy

    def refuse_stewards(template, policy_id):
        if policy_id == "sales/stewards-write":
            raise CompileError("left to cedarpy")
        return real(template, policy_id)

    t = TreeBuilder(tmp_path)
    t.product("sales.orders", ["order_id", column("email", "confidential", tags=["pii"])])
    t.cedar("global", POLICIES)
    t.cedar(
        "sales",
        '@id("stewards-write")\n'
        'permit (principal in Group::"stewards", action == Action::"write", resource);\n',
    )
    reference = t.engine(evaluator="reference")
    monkeypatch.setattr(compiled, "compile_policy", refuse_stewards)
    engine = t.engine(evaluator="compiled")
    assert engine.snapshot.evaluator.fallback_policies() == {"sales/stewards-write"}
    view = engine.snapshot.products["sales.orders"]
    plans = engine.snapshot.plans
    assert isinstance(plans[("write", "sales"), view.resource], CedarPlan)
    assert isinstance(plans[("read", "sales"), view.resource], FusedPlan)
    for action in ("read", "write"):
        for groups in ([], ["stewards"]):
            for context in ({}, {"purpose": "support"}):
                r = request(groups=groups, clearance=3, context=context, action=action)
                got, want = engine.decide(r).to_dict(), reference.decide(r).to_dict()
                assert (got["access"], got["masks"]) == (want["access"], want["masks"])
    assert engine.decide(request(groups=["stewards"], clearance=3, action="write")).allowed
    assert not engine.decide(request(groups=[], clearance=3, action="write")).allowed
