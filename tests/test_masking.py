"""Mask strategies: masking.yaml rules, strictest-wins resolution, domains only stricter, check."""

from __future__ import annotations

import pytest

from governance import LoadError
from governance.tools.check import CheckOptions, run_check
from tests.treebuilder import TreeBuilder, codes, column, errors, request

MASK_EVERY_SENSITIVE_COLUMN = """\
@id("read-products")
permit (principal, action, resource);

@id("hide-sensitive-columns")
forbid (principal, action, resource is Column) when { resource.sensitivity >= 1 };
"""


def rule(rid, strategy, **fields):
    match = fields.pop("match")
    return {"id": rid, "match": match, "strategy": strategy, **fields}


def classify_rule(rid, level, labels, columns):
    return {"id": rid, "match": {"columns": columns}, "level": level, "labels": labels}


@pytest.fixture
def tree(tmp_path):
    t = TreeBuilder(tmp_path)
    t.cedar("global", MASK_EVERY_SENSITIVE_COLUMN)
    t.classification(
        "global",
        [
            classify_rule("emails", "confidential", ["pii", "contact"], ["*email*"]),
            classify_rule("ids", "restricted", ["pii", "government-id"], ["*ssn*"]),
            classify_rule("ibans", "confidential", ["financial"], ["*iban*"]),
            classify_rule("dates", "internal", ["pii"], ["*birth*"]),
        ],
    )
    t.product(
        "sales.customers",
        [column("email"), column("ssn"), column("iban"), column("birth_date"), column("city")],
    )
    return t


def strategies(tree, product="sales.customers"):
    decision = tree.engine().decide(request(product=product)).to_dict()
    assert decision["allowed"]
    return {m["column"]: m["strategy"] for m in decision["masks"]}


def test_without_masking_yaml_every_mask_is_null(tree):
    found = strategies(tree)
    assert set(found) == {"email", "ssn", "iban", "birth_date"}  # `city` is public
    assert {s["name"] for s in found.values()} == {"null"}
    assert found["email"]["rule"] == "govern/default"


def test_rules_by_label_level_and_column_with_a_default(tree):
    tree.masking(
        "global",
        [
            rule("contacts", "hash", match={"labels": ["contact"]}, key_env="MASK_KEY"),
            rule("restricted", "null", match={"levels": ["restricted"]}),
            rule("ibans", "partial", match={"columns": ["*IBAN*"]}, keep="last", chars=4),
        ],
        default={"strategy": "truncate", "unit": "month"},
    )
    found = strategies(tree)
    assert found["email"] == {
        "name": "hash",
        "key_env": "MASK_KEY",
        "rule": "global/contacts",
        "layer": "global",
        "source": "global/masking.yaml:2:3",
    }
    assert found["ssn"]["name"] == "null"
    assert found["iban"] == {**found["iban"], "name": "partial", "keep": "last", "chars": 4}
    assert found["birth_date"]["name"] == "truncate"
    assert found["birth_date"]["unit"] == "month"
    assert found["birth_date"]["rule"] == "global/default"


def test_strictest_matching_rule_wins_whatever_the_order(tree):
    tree.masking(
        "global",
        [
            rule("weak", "partial", match={"labels": ["pii"]}, chars=2),
            rule("weaker", "partial", match={"labels": ["pii"]}, chars=6),
            rule("strong", "redact", match={"min_level": "confidential"}),
        ],
    )
    found = strategies(tree)
    assert found["email"]["rule"] == "global/strong"  # redact beats partial
    assert found["birth_date"]["rule"] == "global/weak"  # fewer kept characters is stricter


def test_domain_rules_only_tighten(tree):
    tree.masking(
        "global",
        [rule("contacts", "hash", match={"labels": ["contact"]})],
        default={"strategy": "redact"},
    )
    tree.masking(
        "sales",
        [
            rule("loosen-contacts", "truncate", match={"labels": ["contact"]}),
            rule("tighten-ibans", "null", match={"labels": ["financial"]}),
        ],
        default={"strategy": "partial", "chars": 1},
    )
    found = strategies(tree)
    assert found["email"]["rule"] == "global/contacts"  # the weaker domain rule has no effect
    assert found["iban"]["rule"] == "sales/tighten-ibans"
    assert found["iban"]["layer"] == "sales"
    assert found["birth_date"]["rule"] == "global/default"  # domain default is weaker


def test_yaml_null_names_the_null_strategy(tree):
    tree.masking("global", "default:\n  strategy: null\nrules: []\n")
    assert strategies(tree)["email"]["rule"] == "global/default"
    assert strategies(tree)["email"]["name"] == "null"


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"strategy": "hash", "chars": 3}, "strategy `hash` takes no `chars`"),
        ({"strategy": "partial"}, "strategy `partial` needs `chars`"),
        ({"strategy": "scramble"}, "strategy"),
        ({"strategy": "redact", "text": "a\nb"}, "text"),
        ({"strategy": "hash", "key_env": "lower-case"}, "key_env"),
        ({"strategy": "truncate", "unit": "day"}, "unit"),
        ({"strategy": "redact", "colour": "red"}, "colour"),
    ],
)
def test_malformed_rules_are_located_errors(tree, entry, message):
    tree.masking("global", [{"id": "r", "match": {"labels": ["pii"]}, **entry}])
    with pytest.raises(LoadError) as raised:
        tree.engine()
    (problem,) = raised.value.errors
    assert problem.code == "schema"
    assert message in problem.message
    assert problem.location.file == tree.rel("global/masking.yaml")
    # at the rule, or at the offending field when pydantic names one
    line = (
        tree.root.joinpath("global/masking.yaml")
        .read_text()
        .splitlines()[problem.location.line - 1]
    )
    assert line.startswith("- id:") or line.strip().split(":")[0] in problem.message


def test_unknown_level_and_duplicate_ids_are_errors(tree):
    tree.masking(
        "global",
        [
            rule("r", "null", match={"levels": ["secret"]}),
            rule("r", "null", match={"min_level": "top-secret"}),
        ],
    )
    _, problems = tree.load()
    assert sorted(codes(errors(problems))) == ["duplicate-id", "unknown-level", "unknown-level"]


def test_check_warns_about_rules_without_effect_and_unknown_labels(tree):
    tree.masking("global", [rule("contacts", "null", match={"labels": ["contact"]})])
    tree.masking(
        "sales",
        [
            rule("never-stricter", "hash", match={"labels": ["contact"]}),
            rule("nothing-matches", "null", match={"columns": ["nope"]}),
            rule("typo", "null", match={"labels": ["contcat"]}),
        ],
    )
    report = run_check(tree.root, CheckOptions(today=__import__("datetime").date(2026, 6, 1)))
    found = {(p.code, p.message.split("`")[1]) for p in report.problems}
    assert ("masking-no-effect", "sales/never-stricter") in found
    assert ("masking-no-effect", "sales/nothing-matches") in found
    assert ("unknown-label", "typo") in found
    assert report.exit_code == 0  # warnings only
