"""SPEC 3.5 retention: each combining tie-break, holds, the descriptor promise, durations."""

from __future__ import annotations

import pytest

from governance import LoadError
from tests.treebuilder import TreeBuilder, request


def rr(rid, *, min=None, max=None, on_expiry=None, locked=False, **applies_to):
    rule = {"id": rid}
    if applies_to:
        rule["applies_to"] = applies_to
    if min is not None:
        rule["min"] = min
    if max is not None:
        rule["max"] = max
    if on_expiry is not None:
        rule["on_expiry"] = on_expiry
    if locked:
        rule["locked"] = True
    return rule


@pytest.fixture
def tree(tmp_path):
    t = TreeBuilder(tmp_path)
    t.cedar("global", '@id("all")\npermit (principal, action, resource);\n')
    t.product("sales.orders", ["order_id"], tags=["transactional"])
    return t


def retention(tree, product="sales.orders"):
    return tree.engine().decide(request(product=product, columns=[])).to_dict()["retention"]


def rules_for(result, role):
    return sorted(s["rule"] for s in result["sources"] if s["role"] == role)


def test_longest_min_wins(tree):
    tree.retention("global", [rr("tax", min="P7Y", locked=True)])
    tree.retention("sales", [rr("short", min="P1Y"), rr("long", min="P10Y")])
    result = retention(tree)
    assert result["min"] == "P10Y"
    assert rules_for(result, "min") == ["sales/long"]


def test_locked_global_min_binds_over_shorter_domain_min(tree):
    tree.retention("global", [rr("tax", min="P7Y", locked=True)])
    tree.retention("sales", [rr("short", min="P1Y")])
    result = retention(tree)
    assert result["min"] == "P7Y"
    assert rules_for(result, "min") == ["global/tax"]


def test_locked_global_max_binds_even_when_domain_max_is_longer(tree):
    tree.retention("global", [rr("gdpr", max="P3Y", locked=True)])
    tree.retention("sales", [rr("keep-long", max="P10Y")])
    result = retention(tree)
    assert result["max"] == "P3Y"
    assert rules_for(result, "max") == ["global/gdpr"]


def test_domain_max_replaces_unlocked_global_default_even_if_default_is_shorter(tree):
    tree.retention("global", [rr("default-max", max="P2Y")])
    tree.retention("sales", [rr("orders-max", max="P10Y")])
    result = retention(tree)
    assert result["max"] == "P10Y"
    assert rules_for(result, "max") == ["sales/orders-max"]


def test_unlocked_global_default_applies_where_domain_has_no_rule(tree):
    tree.retention("global", [rr("default-max", max="P2Y", on_expiry="archive")])
    tree.product("finance.ledger", ["entry"])
    tree.retention("finance", [rr("ledger-max", max="P20Y")])
    result = retention(tree)
    assert result["max"] == "P2Y"
    assert rules_for(result, "max") == ["global/default-max"]
    assert retention(tree, "finance.ledger")["max"] == "P20Y"


def test_shortest_remaining_max_wins(tree):
    tree.retention("global", [rr("ceiling", max="P10Y", locked=True)])
    tree.retention("sales", [rr("a", max="P5Y"), rr("b", max="P8Y")])
    result = retention(tree)
    assert result["max"] == "P5Y"
    assert rules_for(result, "max") == ["sales/a"]


def test_equal_mins_name_both_rules(tree):
    tree.retention("global", [rr("tax", min="P7Y", locked=True)])
    tree.retention("sales", [rr("audit", min={"value": 7, "unit": "years"})])
    result = retention(tree)
    assert result["min"] == "P7Y"
    assert rules_for(result, "min") == ["global/tax", "sales/audit"]


def test_equal_mins_spelled_differently_name_both_rules(tree):
    tree.retention("global", [rr("tax", min="P1Y", locked=True)])
    tree.retention("sales", [rr("audit", min="P365D")])
    result = retention(tree)
    assert rules_for(result, "min") == ["global/tax", "sales/audit"]


def test_min_equal_to_max_in_other_units_is_no_conflict(tree):
    tree.retention("sales", [rr("keep", min="P7D"), rr("dispose", max="P1W")])
    result = retention(tree)
    assert result["conflict"] is None


def test_rule_with_min_equal_to_max_in_other_units_loads(tree):
    tree.retention("sales", [rr("week", min="P7D", max="P1W")])
    result = retention(tree)
    assert (result["min"], result["max"]) == ("P7D", "P1W")


def test_min_above_max_keeps_to_min_and_reports_conflict(tree):
    # Between global rules, a legal duty (min) beats a ceiling (max): both are the central team's.
    tree.retention(
        "global", [rr("gdpr", max="P3Y", locked=True), rr("tax", min="P7Y", locked=True)]
    )
    result = retention(tree)
    assert result["min"] == "P7Y"
    assert result["max"] == "P3Y"
    conflict = result["conflict"]
    assert conflict is not None
    assert conflict["min_rules"] == ["global/tax"]
    assert conflict["max_rules"] == ["global/gdpr"]
    assert "P7Y" in conflict["detail"] and "P3Y" in conflict["detail"]
    assert result["clipped"] == []


def test_unlocked_global_default_min_above_locked_max_is_a_global_conflict(tree):
    tree.retention("global", [rr("gdpr", max="P3Y", locked=True), rr("default", min="P5Y")])
    result = retention(tree)
    assert (result["min"], result["max"]) == ("P5Y", "P3Y")
    assert result["conflict"]["min_rules"] == ["global/default"]


def test_domain_min_above_locked_max_is_clipped_to_the_ceiling(tree):
    tree.retention("global", [rr("gdpr", max="P3Y", locked=True)])
    tree.retention("sales", [rr("tax", min="P7Y"), rr("short", min="P1Y")])
    result = retention(tree)
    assert (result["min"], result["max"]) == ("P3Y", "P3Y")
    assert result["conflict"] is None
    [clip] = result["clipped"]
    assert clip["rule"] == "sales/tax" and clip["ceiling_rule"] == "global/gdpr"
    assert clip["source"].startswith("domains/sales/retention.yaml:")  # relative to the tree root
    assert rules_for(result, "max") == ["global/gdpr"]


def test_domain_min_above_a_locked_max_and_a_locked_min_keeps_the_global_min(tree):
    tree.retention(
        "global", [rr("gdpr", max="P3Y", locked=True), rr("tax", min="P7Y", locked=True)]
    )
    tree.retention("sales", [rr("forever", min="P20Y")])
    result = retention(tree)
    assert result["min"] == "P7Y"  # the central team's own conflict: its legal duty holds
    assert rules_for(result, "min") == ["global/tax"]
    assert [c["rule"] for c in result["clipped"]] == ["sales/forever"]


def test_domain_min_above_an_unlocked_max_still_keeps_to_the_min(tree):
    tree.retention("global", [rr("default", max="P3Y")])
    tree.retention("sales", [rr("tax", min="P7Y")])
    result = retention(tree)
    assert (result["min"], result["max"]) == ("P7Y", "P3Y")
    assert result["conflict"] is not None and result["clipped"] == []


def test_no_conflict_when_min_fits_under_max(tree):
    tree.retention("sales", [rr("a", min="P1Y"), rr("b", max="P3Y")])
    assert retention(tree)["conflict"] is None


def test_single_rule_min_above_its_own_max_is_a_load_error(tree):
    tree.retention("sales", [rr("upside-down", min="P5Y", max="P1Y")])
    with pytest.raises(LoadError) as exc:
        tree.engine()
    assert "retention-conflict" in {p.code for p in exc.value.problems}


@pytest.mark.parametrize(
    ("actions", "expected"),
    [
        (["archive", "anonymize"], "anonymize"),
        (["archive", "delete"], "delete"),
        (["anonymize", "delete", "archive"], "delete"),
        (["archive"], "archive"),
    ],
)
def test_on_expiry_is_the_most_protective(tree, actions, expected):
    tree.retention(
        "sales", [rr(f"r{i}", max=f"P{i + 1}Y", on_expiry=a) for i, a in enumerate(actions)]
    )
    result = retention(tree)
    assert result["on_expiry"] == expected
    winners = [f"sales/r{i}" for i, a in enumerate(actions) if a == expected]
    assert rules_for(result, "on_expiry") == winners


def test_legal_hold_is_reported_with_its_id(tree):
    tree.product("sales.stores", ["store_id"])
    tree.retention(
        "global",
        [rr("default", max="P1Y", on_expiry="delete")],
        holds=[{"id": "case-114", "applies_to": {"products": ["sales.orders"]},
                "reason": "Pending litigation"}],
    )  # fmt: skip
    result = retention(tree)
    assert result["legal_hold"] is True
    assert result["holds"] == ["global/case-114"]
    [hold] = [s for s in result["sources"] if s["role"] == "hold"]
    assert hold["rule"] == "global/case-114"
    assert hold["value"] == "Pending litigation"
    other = retention(tree, "sales.stores")
    assert other["legal_hold"] is False
    assert other["holds"] == []


def test_domain_hold_applies_to_its_domain(tree):
    tree.retention(
        "sales", holds=[{"id": "audit", "applies_to": {"tags": ["transactional"]}, "reason": "x"}]
    )
    result = retention(tree)
    assert result["legal_hold"] is True
    assert result["holds"] == ["sales/audit"]


def test_selector_matches_labels_and_min_classification(tree):
    tree.classification(
        "global",
        [{"id": "emails", "match": {"columns": ["*email*"]}, "level": "confidential",
          "labels": ["pii"]}],
    )  # fmt: skip
    tree.product("sales.customers", ["id", "email"])
    tree.retention(
        "global",
        [rr("pii-max", max="P3Y", labels=["pii"]),
         rr("conf-min", min="P1Y", min_classification="confidential")],
    )  # fmt: skip
    plain = retention(tree)
    assert plain["max"] is None and plain["min"] is None
    personal = retention(tree, "sales.customers")
    assert personal["max"] == "P3Y"
    assert personal["min"] == "P1Y"


def test_sla_retention_acts_as_domain_min(tree):
    tree.product(
        "sales.orders",
        ["order_id"],
        slaProperties=[{"property": "retention", "value": 7, "unit": "y"}],
    )
    tree.retention("global", [rr("short-min", min="P1Y", locked=True)])
    result = retention(tree)
    assert result["min"] == "P7Y"
    [source] = [s for s in result["sources"] if s["role"] == "min"]
    assert source["layer"] == "sales"
    assert source["source"].startswith("domains/sales/products/orders.yaml:")


def test_sla_retention_promise_is_clipped_by_a_locked_max(tree):
    # Locked means locked: the domain's promise cannot keep data beyond the central ceiling.
    tree.product(
        "sales.orders", ["order_id"], slaProperties=[{"property": "retention", "value": "P5Y"}]
    )
    tree.retention("global", [rr("ceiling", max="P2Y", locked=True)])
    result = retention(tree)
    assert result["min"] == "P2Y"
    assert result["max"] == "P2Y"
    assert result["conflict"] is None
    [clip] = result["clipped"]
    assert (clip["rule"], clip["min"], clip["ceiling"], clip["ceiling_rule"]) == (
        "sales/sla:sales.orders", "P5Y", "P2Y", "global/ceiling",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("spelling", "expected"),
    [
        ("P7Y", "P7Y"),
        ({"value": 7, "unit": "years"}, "P7Y"),
        ("7y", "P7Y"),
        ("30d", "P30D"),
        ("P18M", "P18M"),
    ],
)
def test_duration_spellings(tree, spelling, expected):
    tree.retention("sales", [rr("r", min=spelling)])
    assert retention(tree)["min"] == expected


def test_durations_compare_on_day_count(tree):
    # 30d (30 days) is longer than P3W (21 days), and P13M (390 days) longer than P1Y (365)
    tree.retention("sales", [rr("a", min="30d"), rr("b", min="P3W"), rr("c", max="P13M"),
                             rr("d", max="P1Y")])  # fmt: skip
    result = retention(tree)
    assert result["min"] == "P30D"
    assert result["max"] == "P1Y"


@pytest.mark.parametrize("bad", ["seven years", "P", "7 parsecs", {"value": -1, "unit": "y"}])
def test_bad_duration_is_a_located_load_error(tree, bad):
    path = "domains/sales/retention.yaml"
    tree.write(path, {"rules": [rr("fine", min="P1Y"), rr("broken", max=bad)]})
    with pytest.raises(LoadError) as exc:
        tree.engine()
    [problem] = exc.value.errors
    assert problem.location.file == tree.rel(path)
    assert problem.location.line > 2  # inside the second rule, not the file head
    assert "max" in problem.message
    assert "duration" in problem.message


def test_bad_duration_line_is_exact(tree):
    path = tree.retention(
        "sales",
        """\
        rules:
          - id: ok
            min: P1Y
          - id: broken
            max: forever
        """,
    )
    with pytest.raises(LoadError) as exc:
        tree.engine()
    [problem] = exc.value.errors
    assert problem.location.file == tree.rel("domains/sales/retention.yaml")
    assert (problem.location.line, problem.location.column) == (5, 5)
    assert "forever" in problem.message
    assert path.exists()


def test_bad_sla_duration_is_a_located_load_error(tree):
    tree.product(
        "sales.orders",
        ["order_id"],
        slaProperties=[{"property": "retention", "value": 7, "unit": "eons"}],
    )
    with pytest.raises(LoadError) as exc:
        tree.engine()
    [problem] = exc.value.errors
    assert problem.code == "bad-duration"
    assert problem.location.file == tree.rel("domains/sales/products/orders.yaml")
    assert problem.location.line > 0


def test_locked_rule_in_a_domain_is_a_load_error(tree):
    tree.retention("sales", [rr("sneaky", max="P1Y", locked=True)])
    with pytest.raises(LoadError) as exc:
        tree.engine()
    assert "locked-in-domain" in {p.code for p in exc.value.problems}


def check_codes(tree):
    from governance.tools.check import check_tree

    report = check_tree(tree.root, run_tests=False)
    return report, [(p.code, p.severity) for p in report.problems]


def test_domain_min_above_locked_max_is_a_check_error(tree):
    tree.retention("global", [rr("gdpr", max="P3Y", locked=True)])
    tree.retention("sales", [rr("tax", min="P7Y")])
    report, found = check_codes(tree)
    assert ("exceeds-locked-max", "error") in found
    [problem] = [p for p in report.problems if p.code == "exceeds-locked-max"]
    assert problem.location.file == tree.rel("domains/sales/retention.yaml")
    assert problem.location.line == 2
    assert "sales/tax" in problem.message and "global/gdpr" in problem.message
    assert report.exit_code == 1
    tree.engine()  # it still loads: at decide time the ceiling binds


def test_sla_promise_above_locked_max_is_a_check_error_at_the_contract(tree):
    tree.product(
        "sales.orders", ["order_id"], slaProperties=[{"property": "retention", "value": "P5Y"}]
    )
    tree.retention("global", [rr("ceiling", max="P2Y", locked=True)])
    report, _ = check_codes(tree)
    [problem] = [p for p in report.problems if p.code == "exceeds-locked-max"]
    assert problem.location.file == tree.rel("domains/sales/products/orders.yaml")


def test_domain_min_within_a_global_duty_is_no_check_error(tree):
    tree.retention(
        "global", [rr("gdpr", max="P3Y", locked=True), rr("tax", min="P7Y", locked=True)]
    )
    tree.retention("sales", [rr("also-tax", min="P7Y")])
    _, found = check_codes(tree)
    assert "exceeds-locked-max" not in {code for code, _ in found}
