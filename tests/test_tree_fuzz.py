"""A fuzz of whole policy trees: YAML files mutated as text and as structure, Cedar files mutated
as text. Loading, building the engine (both evaluators), deciding and `govern check` never raise
anything but a LoadError (a GovernanceError) carrying located problems."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from governance import Engine, LoadError
from governance.errors import GovernanceError
from governance.tools.check import check_tree
from governance.tree.load import load_tree
from tests.test_waivers import GUARDRAILS, waiver
from tests.treebuilder import TreeBuilder, request

YAML_FILES = [
    "governance.yaml",
    "fixtures.yaml",
    "global/classification.yaml",
    "global/retention.yaml",
    "global/masking.yaml",
    "global/waivers.yaml",
    "domains/marketing/domain.yaml",
    "domains/marketing/classification.yaml",
    "domains/marketing/retention.yaml",
    "domains/marketing/products/audiences.yaml",
]
CEDAR_FILES = ["global/access/guardrails.cedar", "domains/marketing/access/policies.cedar"]

DOMAIN_POLICIES = """\
@id("analysts-read")
@reason("Analysts read marketing data.")
permit (principal in Group::"analysts", action == Action::"read", resource in Domain::"marketing")
when { context has purpose && context.purpose == "analytics" };

@id("no-restricted-columns")
forbid (principal, action, resource is Column) when { resource.sensitivity >= 3 };
"""


def rich_tree(root: Path) -> TreeBuilder:
    """A small tree that uses every file kind and most of their fields."""
    tree = TreeBuilder(root, actions=["read", "write", {"name": "export", "parents": ["read"]},
                                      "share", "delete"])  # fmt: skip
    tree.cedar("global", GUARDRAILS, "guardrails.cedar")
    tree.cedar("marketing", DOMAIN_POLICIES)
    tree.product("marketing.audiences", [
        {"name": "email", "logicalType": "string", "tags": ["contact"]},
        {"name": "person", "logicalType": "object", "classification": "internal",
         "properties": [{"name": "dob", "logicalType": "date"}]},
        {"name": "visits", "logicalType": "array",
         "items": {"logicalType": "object", "properties": [{"name": "at"}]}},
    ], tags=["campaign"], slaProperties=[{"property": "retention", "value": 2, "unit": "y"}])  # fmt: skip
    tree.classification("global", [
        {"id": "emails", "match": {"columns": ["*email*"]}, "level": "confidential",
         "labels": ["pii"]},
        {"id": "dob", "match": {"columns": ["dob"]}, "level": "restricted", "labels": ["pii"]},
    ])  # fmt: skip
    tree.classification("marketing", [
        {"id": "campaigns", "match": {"product_tags": ["campaign"]}, "level": "internal"},
    ])  # fmt: skip
    tree.retention("global", [
        {"id": "pii-max", "max": "P3Y", "locked": True, "applies_to": {"labels": ["pii"]},
         "on_expiry": "anonymize"},
        {"id": "default", "min": "P1Y", "max": "P5Y"},
    ], holds=[{"id": "h", "reason": "audit", "applies_to": {"products": ["marketing.*"]}}])  # fmt: skip
    tree.retention("marketing", [{"id": "m", "min": "30d", "applies_to": {"tags": ["campaign"]}}])
    tree.masking("global", [{"id": "dob-year", "strategy": "truncate", "unit": "year",
                             "match": {"columns": ["dob"]}}], default={"strategy": "null"})  # fmt: skip
    tree.waivers([waiver(groups=["campaign-ops"], products=["marketing.aud*"], actions=["export"])])
    tree.write("fixtures.yaml", {"principals": {"ann": {"id": "ann", "properties": {
        "groups": ["analysts"], "clearance": 2}}}})  # fmt: skip
    return tree


def test_the_unmutated_tree_is_clean(tmp_path):
    tree = rich_tree(tmp_path)
    engine = tree.engine()
    decision = engine.decide(
        request("ann", product="marketing.audiences", groups=["analysts"], clearance=2,
                context={"purpose": "analytics"}, columns="*")
    ).to_dict()  # fmt: skip
    assert decision["allowed"] is True
    assert {m["column"] for m in decision["masks"]} == {"person.dob"}


# --- mutations ---------------------------------------------------------------------------------

TEXT_PIECES = st.sampled_from([
    "(", ")", "{", "}", "[", "]", '"', "'", ";", ":", "- ", "\n", "  ", "\t", "&a ", "*a", "<<: *a",
    "? ", "!!python/object ", ".nan", ".inf", "P1Y", "-P1Y", "999999999999", "\x00", "\\", "%",
    "?principal", '@id("x")', '@waivable("maybe")', "when", "unless", "forbid", "permit",
    "resource in Domain::\"sales\"", "Action::\"nope\"", "principal.clearance", "==", "&&", "#",
    "//", "/*", "ü", "\ufeff", "null", "~", "true", "[]", "{}",
])  # fmt: skip

KEYS = st.sampled_from([
    "id", "name", "rules", "match", "columns", "level", "min", "max", "properties", "items",
    "schema", "actions", "parents", "domain", "classification", "tags", "applies_to", "products",
    "strategy", "expires", "waivers", "holds", "default", "value", "unit", "locked", "labels",
])  # fmt: skip
VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from(["", "P1Y", "restricted", "read", "marketing.*", "global/no-export",
                       "2026-01-01", "a/b", "global", "x" * 300, "*", "marketing.audiences"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=3),
    max_leaves=8,
)  # fmt: skip


def mutate_text(data: st.DataObject, text: str) -> str:
    for _ in range(data.draw(st.integers(1, 5), label="edits")):
        at = data.draw(st.integers(0, len(text)), label="at")
        cut = data.draw(st.integers(0, 8), label="cut")
        piece = data.draw(TEXT_PIECES, label="piece") * data.draw(st.sampled_from([1, 2, 40]))
        text = text[:at] + piece + text[at + cut :]
    return text


def node_paths(node: object, path: tuple = ()) -> list[tuple]:
    """The path of every node of a parsed YAML document, the root first."""
    found = [path]
    if isinstance(node, dict):
        for key, value in node.items():
            found += node_paths(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += node_paths(value, (*path, index))
    return found


def mutate_structure(data: st.DataObject, document: object) -> object:
    """Replace, drop or duplicate one node anywhere in a parsed YAML document, or add a key."""
    path = data.draw(st.sampled_from(node_paths(document)), label="path")
    action = data.draw(st.sampled_from(["replace", "drop", "duplicate", "add"]), label="action")
    return _apply(data, document, path, action)


def _apply(data: st.DataObject, node: object, path: tuple, action: str) -> object:
    if path:
        head, rest = path[0], path[1:]
        if isinstance(node, dict):
            if not rest and action == "drop":
                return {k: v for k, v in node.items() if k != head}
            return {**node, head: _apply(data, node[head], rest, action)}
        assert isinstance(node, list) and isinstance(head, int)
        if not rest and action in ("drop", "duplicate"):
            copies = [] if action == "drop" else [node[head], node[head]]
            return [*node[:head], *copies, *node[head + 1 :]]
        return [*node[:head], _apply(data, node[head], rest, action), *node[head + 1 :]]
    if action == "add" and isinstance(node, dict):
        key = data.draw(KEYS, label="new key")
        return {**node, key: data.draw(VALUES, label="new value")}
    return data.draw(VALUES, label="value")


def dump(document: object) -> str:
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True)  # NaN as .nan


# --- the property ------------------------------------------------------------------------------


def exercise(root: Path) -> None:
    """Everything a tree feeds must return, or raise a GovernanceError with located problems."""
    _, problems = load_tree(root)
    assert all(p.location.file for p in problems)
    for evaluator in ("reference", "compiled"):
        try:
            engine = Engine.from_path(root, evaluator=evaluator)  # type: ignore[arg-type]
        except LoadError as exc:
            assert exc.errors and all(p.location.file for p in exc.errors)
            continue
        except GovernanceError:
            continue
        for product in sorted(engine.snapshot.products)[:2]:
            engine.decide(request("ann", product=product, groups=["analysts"], columns="*"))
    report = check_tree(root, run_tests=False)
    assert all(p.location.file for p in report.problems)


FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@FUZZ
@given(data=st.data())
def test_text_mutations_of_yaml_files_never_raise_out_of_loading(tmp_path_factory, data):
    root = tmp_path_factory.mktemp("yaml-text")
    rich_tree(root)
    for name in data.draw(
        st.lists(st.sampled_from(YAML_FILES), min_size=1, max_size=2, unique=True)
    ):
        path = root / name
        path.write_text(mutate_text(data, path.read_text()), encoding="utf-8")
    exercise(root)


@FUZZ
@given(data=st.data())
def test_structural_mutations_of_yaml_files_never_raise_out_of_loading(tmp_path_factory, data):
    root = tmp_path_factory.mktemp("yaml-structure")
    rich_tree(root)
    for name in data.draw(
        st.lists(st.sampled_from(YAML_FILES), min_size=1, max_size=3, unique=True)
    ):
        path = root / name
        document = yaml.safe_load(path.read_text())
        for _ in range(data.draw(st.integers(1, 3), label="mutations")):
            document = mutate_structure(data, document)
        path.write_text(dump(document), encoding="utf-8")
    exercise(root)


@FUZZ
@given(data=st.data())
def test_cedar_mutations_never_raise_out_of_loading(tmp_path_factory, data):
    root = tmp_path_factory.mktemp("cedar")
    rich_tree(root)
    for name in data.draw(st.lists(st.sampled_from([*CEDAR_FILES, "schema.cedarschema"]), min_size=1,
                                   max_size=2, unique=True)):  # fmt: skip
        path = root / name
        path.write_text(mutate_text(data, path.read_text()), encoding="utf-8")
    exercise(root)


@pytest.mark.parametrize("name", YAML_FILES)
def test_each_yaml_file_replaced_by_hostile_shapes_is_a_load_problem(tmp_path, name):
    for i, text in enumerate(["[]\n", "42\n", "'text'\n", "~\n", "{a: {b: {c: [1, .nan]}}}\n",
                              "- - - - []\n", "rules: 7\nwaivers: {}\nschema: x\n"]):  # fmt: skip
        root = tmp_path / str(i)
        rich_tree(root)
        (root / name).write_text(text, encoding="utf-8")
        exercise(root)


@pytest.mark.parametrize(
    "properties",
    [{"groups": None}, {"groups": ["analysts"], "locked": [5.3e28]}, {"id": None}],
)
def test_a_persona_the_engine_would_refuse_is_a_check_error_not_a_crash(tmp_path, properties):
    # Found by the structural fuzz: `govern check` raised RequestError from the dead-policy scan.
    tree = rich_tree(tmp_path)
    tree.write("fixtures.yaml", {"principals": {"ann": {"id": "ann", "properties": properties}}})
    report = check_tree(tmp_path, run_tests=False)
    [problem] = [p for p in report.problems if p.code == "bad-persona"]
    assert "persona `ann`" in problem.message and problem.severity == "error"
    assert problem.location.file == tree.rel("fixtures.yaml")
    assert report.exit_code == 1
