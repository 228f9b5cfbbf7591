"""Hostile trees: every input limit and reserved name is a located load problem, never a crash."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from governance.tree.durations import parse_duration
from governance.tree.load import load_tree
from governance.tree.located_yaml import MAX_NODES, _depth_bound, _expanded_size, _may_expand
from tests.treebuilder import TreeBuilder, codes, errors

OK_POLICY = '@id("all")\npermit (principal, action, resource);\n'


def fresh(tmp_path) -> TreeBuilder:
    tree = TreeBuilder(tmp_path)
    tree.product("sales.orders", ["order_id"])
    tree.cedar("global", OK_POLICY)
    return tree


def error_codes(tree: TreeBuilder) -> list[str]:
    _, problems = tree.load()
    return codes(errors(problems))


def test_domain_folder_named_global_is_refused(tmp_path):
    tree = fresh(tmp_path)
    tree.cedar("global", '@id("no-pii")\nforbid (principal, action, resource);\n', "g.cedar")
    tree.write("domains/global/domain.yaml", {"name": "global", "owners": ["t"]})
    tree.write(
        "domains/global/access/p.cedar", '@id("no-pii")\npermit (principal, action, resource);\n'
    )
    loaded, problems = tree.load()
    assert "bad-domain-name" in codes(errors(problems))
    assert loaded is not None and "global" not in loaded.domains
    assert [p.full_id for p in loaded.policies()].count("global/no-pii") == 1


@pytest.mark.parametrize(
    "name", ["sa les", "s\u0430les", "sales\n"]
)  # space, Cyrillic a (U+0430), newline
def test_domain_folder_that_is_not_an_identifier_is_refused(tmp_path, name):
    tree = fresh(tmp_path)
    tree.write(f"domains/{name}/domain.yaml", {"name": name, "owners": ["t"]})
    problem = next(p for p in tree.load()[1] if p.code == "bad-domain-name")
    assert name in problem.location.file and "identifier" in problem.message


def test_duplicate_yaml_key_is_an_error_at_the_second_key(tmp_path):
    tree = fresh(tmp_path)
    tree.retention("sales", "rules:\n  - id: r\n    min: P1Y\n    min: P2Y\n")
    _, problems = tree.load()
    (problem,) = [p for p in errors(problems) if p.code == "yaml"]
    assert "duplicate key `min`" in problem.message and problem.location.line == 4


def test_billion_laughs_is_bounded(tmp_path):
    tree = fresh(tmp_path)
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    for i in range(1, 9):
        prev, name = chr(96 + i), chr(97 + i)
        lines.append(f"{name}: &{name} [{', '.join(['*' + prev] * 9)}]")
    tree.write("domains/sales/products/laughs.yaml", "\n".join(lines) + "\n")
    _, problems = tree.load()
    assert any("expands to more than" in p.message for p in errors(problems))


def test_deep_yaml_nesting_is_an_error_not_a_recursion_error(tmp_path):
    tree = fresh(tmp_path)
    tree.classification("sales", "rules: " + "[" * 300 + "]" * 300 + "\n")
    _, problems = tree.load()
    assert any("nesting deeper than" in p.message for p in errors(problems))


def test_nan_infinite_and_absurd_durations_are_bad_duration(tmp_path):
    for value in (".nan", ".inf", "P99999999999Y", "{value: .nan, unit: days}"):
        tree = fresh(tmp_path / value.strip("{}.: ").replace(" ", ""))
        tree.retention("sales", f"rules:\n  - id: r\n    min: {value}\n")
        assert "bad-duration" in error_codes(tree), value


def test_reasonable_durations_still_parse():
    assert parse_duration("P7Y").days == 7 * 365
    assert parse_duration({"value": 30, "unit": "days"}).days == 30


def test_deeply_nested_cedar_policy_is_located_before_the_parser(tmp_path):
    tree = fresh(tmp_path)
    deep = (
        '@id("deep")\npermit (principal, action, resource) when { '
        + "(" * 1000
        + "true"
        + ")" * 1000
        + " };\n"
    )
    tree.cedar("sales", deep)
    # In a subprocess: if the guard ever regresses, cedarpy's SIGSEGV must fail this test, not pytest.
    script = "import sys; from governance.tree.load import load_tree; t,p=load_tree(sys.argv[1]); print(*[x.code+' '+x.message for x in p], sep='\\n')"
    result = subprocess.run(
        [sys.executable, "-c", script, str(tree.root)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "cedar-syntax nesting deeper than" in result.stdout


def test_deeply_nested_schema_is_located(tmp_path):
    tree = TreeBuilder(tmp_path, schema="entity A = " + "{ a: " * 500 + "Long" + " }" * 500 + ";\n")
    _, problems = tree.load()
    assert any(p.code == "cedar-schema" and "nesting" in p.message for p in problems)


def test_cedar_template_is_a_located_error(tmp_path):
    tree = fresh(tmp_path)
    tree.cedar(
        "sales",
        '@id("ok")\npermit (principal, action, resource);\n\n@id("t")\npermit (principal == ?principal, action, resource);\n',
    )
    _, problems = tree.load()
    (problem,) = [p for p in problems if p.code == "cedar-template"]
    assert problem.location.line == 4


def test_waivable_must_be_true_or_false_and_unknown_annotations_warn(tmp_path):
    tree = fresh(tmp_path)
    tree.cedar(
        "global",
        '@id("f")\n@waivable("yes")\n@colour("red")\nforbid (principal, action, resource);\n',
        "f.cedar",
    )
    _, problems = tree.load()
    assert "bad-annotation" in codes(errors(problems))
    assert any(p.code == "unknown-annotation" and p.severity == "warning" for p in problems)


_PIECES = st.sampled_from(
    [
        "(",
        ")",
        "{",
        "}",
        "[",
        "]",
        '"',
        "?principal",
        '@id("x")',
        "when",
        ";",
        "&a",
        "*a",
        ":",
        "- ",
        "\n",
        "  ",
        "<<: *a",
        ".nan",
        "P1Y",
        "\x00",
        "\\",
    ]
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_mutated_tree_files_never_raise_out_of_loading(tmp_path_factory, data):
    root = tmp_path_factory.mktemp("fuzz")
    tree = fresh(root)
    tree.retention("sales", [{"id": "r", "min": "P1Y"}])
    files = [
        "global/access/policies.cedar",
        "domains/sales/retention.yaml",
        "domains/sales/products/orders.yaml",
        "governance.yaml",
        "schema.cedarschema",
    ]
    target = root / data.draw(st.sampled_from(files))
    text = target.read_text()
    for _ in range(data.draw(st.integers(1, 6))):
        at = data.draw(st.integers(0, len(text)))
        piece = data.draw(_PIECES) * data.draw(st.sampled_from([1, 2, 70, 400]))
        cut = data.draw(st.integers(0, 5))
        text = text[:at] + piece + text[at + cut :]
    target.write_text(text, encoding="utf-8")
    _, problems = load_tree(root)  # must return, whatever the text
    assert all(p.location.file for p in problems)


def test_revision_hashes_only_the_policy_files_that_were_parsed(tmp_path):
    tree = fresh(tmp_path)
    first = tree.load()[0].global_layer.revision
    tree.write("global/NOTES.md", "not policy\n")
    assert tree.load()[0].global_layer.revision == first
    tree.cedar("global", OK_POLICY + '\n@id("two")\npermit (principal, action, resource);\n')
    assert tree.load()[0].global_layer.revision != first


def test_policy_files_the_loader_skips_are_warnings(tmp_path):
    tree = fresh(tmp_path)
    tree.write("global/access/sub/x.cedar", OK_POLICY)
    tree.write("global/access/y.CEDAR", OK_POLICY)
    _, problems = tree.load()
    unread = sorted(p.location.file for p in problems if p.code == "unread-file")
    assert [f.rsplit("/", 2)[-2:] for f in unread] == [["sub", "x.cedar"], ["access", "y.CEDAR"]]
    assert all(p.severity == "warning" for p in problems if p.code == "unread-file")


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="[]{}:,?-& \nab'\"#!|>", max_size=40))
def test_without_aliases_a_document_has_at_most_four_nodes_a_character(text):
    """The bound that lets small files without `*` skip the alias-expansion count."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return
    if node is not None:
        assert _expanded_size(node) <= 4 * len(text) + 1
        assert not _may_expand(text) or 4 * len(text) + 1 > MAX_NODES


def _depth(text: str) -> int:
    deepest = depth = 0
    for event in yaml.parse(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            deepest = max(deepest, depth)
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
    return deepest


_YAMLISH = st.lists(
    st.tuples(
        st.integers(0, 12),
        st.lists(
            st.sampled_from(
                [
                    "- ",
                    "? ",
                    "a: ",
                    "b:",
                    "[",
                    "]",
                    "{",
                    "}",
                    ", ",
                    "x",
                    "-",
                    "&a ",
                    "!t ",
                    "\t",
                    "*a",
                ]
            )
        ),
    ),
    max_size=12,
).map(lambda lines: "\n".join(" " * indent + "".join(parts) for indent, parts in lines))


@settings(max_examples=600, deadline=None)
@given(_YAMLISH)
def test_the_depth_bound_read_off_the_text_is_never_below_the_depth(text):
    """What lets files skip the event pass of the depth check: the bound is sound."""
    try:
        depth = _depth(text)
    except yaml.YAMLError:
        return
    assert depth <= _depth_bound(text)


_NESTED = st.recursive(
    st.one_of(st.none(), st.integers(), st.text("ab -?:", max_size=4)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text("ab", max_size=2), inner, max_size=3)
    ),
    max_leaves=30,
)


@settings(max_examples=400, deadline=None)
@given(_NESTED, st.sampled_from([False, True, None]), st.integers(2, 6))
def test_the_depth_bound_holds_for_documents_as_dumped(data, flow, indent):
    """Valid nested documents in every dump style (block, flow, mixed; any indentation)."""
    text = yaml.safe_dump(data, default_flow_style=flow, indent=indent)
    assert _depth(text) <= _depth_bound(text)


# Chains without brackets: Cedar's parser recurses per link and crashed the process (SIGSEGV)
# from about 1,400 links, in loading, `govern fmt`, `compile_policies` and a schema's `Set<...>`.
_CHAINS = {
    "and": " && ".join(["true"] * 3000),
    "or": " || ".join(['principal.department == "x"'] * 3000),
    "plus": " + ".join(["1"] * 3000) + " == 1",
    "attributes": "principal" + ".a" * 3000 + ' == "x"',
    "has": "principal has " + ".".join(["a"] * 3000),
    "calls": "[1]" + ".contains(1)" * 3000,
    "ifs": "if true then " * 2000 + "true" + " else false" * 2000,
}
_CHAIN_SCRIPT = """
import sys
from pathlib import Path
import governance
from governance.tools.fmt import format_text
from governance.tree.load import load_tree
root, policy, schema = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
_, problems = load_tree(root)
print(*[p.code + " " + p.message for p in problems], sep="\\n")
for run in (
    lambda: governance.compile_policies(policy),
    lambda: governance.compile_policies("permit (principal, action, resource);", schema=schema),
    lambda: format_text(policy),
):
    try:
        run()
    except (governance.CompileError, ValueError) as exc:
        print("refused", exc)
"""


@pytest.mark.parametrize("chain", sorted(_CHAINS))
def test_long_operator_chains_are_refused_before_the_parser(tmp_path, chain):
    policy = f'@id("chain")\npermit (principal, action, resource) when {{ {_CHAINS[chain]} }};\n'
    schema = "entity User { a: " + "Set<" * 3000 + "String" + ">" * 3000 + " };\n"
    tree = fresh(tmp_path)
    tree.cedar("sales", policy)
    (tree.root / "schema.cedarschema").write_text(schema)
    result = subprocess.run(
        [sys.executable, "-c", _CHAIN_SCRIPT, str(tree.root), policy, schema],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert "cedar-syntax more than 500 operators in one statement" in result.stdout
    assert "cedar-schema nesting deeper than 64 levels" in result.stdout
    assert result.stdout.count("refused") == 3, result.stdout


def test_many_short_policies_are_not_a_chain(tmp_path):
    many = "".join(
        f'@id("p{i}")\npermit (principal, action, resource) when {{ {" && ".join(["true"] * 50)} }};\n'
        for i in range(40)
    )
    tree = fresh(tmp_path)
    tree.cedar("sales", many)
    assert error_codes(tree) == []


_SPECIAL_FILES = {
    # A FIFO hung the load forever; /dev/zero filled memory until the process was killed.
    "fifo": lambda path: os.mkfifo(path),
    "device": lambda path: path.symlink_to("/dev/zero"),
    "huge": lambda path: _sparse(path, 17 * 2**20),
    "dangling": lambda path: path.symlink_to(path.parent / "nowhere"),
}


def _sparse(path, size):
    path.touch()
    os.truncate(path, size)  # instant, whatever the size


@pytest.mark.parametrize("kind", sorted(_SPECIAL_FILES))
@pytest.mark.parametrize("name", ["access/x.cedar", "products/x.yaml", "classification.yaml"])
def test_a_file_that_is_no_regular_file_or_is_huge_is_a_located_error(tmp_path, kind, name):
    tree = fresh(tmp_path)
    target = tree.root / "domains" / "sales" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)
    _SPECIAL_FILES[kind](target)
    script = "import sys; from governance.tree.load import load_tree; t,p=load_tree(sys.argv[1]); print(*[str(x) for x in p], sep='\\n')"
    result = subprocess.run(
        [sys.executable, "-c", script, str(tree.root)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    expected = {"huge": "larger than the 16 MiB", "dangling": "No such file"}.get(
        kind, "not a regular file"
    )
    assert f"{name}: error[io]: cannot read file: {expected}" in result.stdout, result.stdout


@pytest.mark.parametrize("schema", ["", "\n  \n"])
def test_an_empty_schema_is_an_error_not_a_clean_check(tmp_path, schema):
    # It was skipped by validation (`govern check` OK) while every request was refused.
    tree = fresh(tmp_path)
    (tree.root / "schema.cedarschema").write_text(schema)
    _, problems = tree.load()
    assert any(
        p.code == "cedar-schema" and "declares no entity type" in p.message
        for p in errors(problems)
    )


def test_a_byte_order_mark_or_crlf_lines_load_as_the_plain_file(tmp_path):
    # Cedar files saved by a Windows editor failed with `invalid token` at 1:1.
    tree = fresh(tmp_path)
    tree.cedar("sales", '@id("grant")\npermit (principal, action, resource);\n')
    plain, problems = tree.load()
    assert plain is not None and not errors(problems)
    for path in [
        *tree.root.rglob("*.cedar"),
        *tree.root.rglob("*.yaml"),
        tree.root / "schema.cedarschema",
    ]:
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes().replace(b"\n", b"\r\n"))
    loaded, problems = tree.load()
    assert loaded is not None and not errors(problems), problems
    policy = next(p for p in loaded.domains["sales"].policies if p.full_id == "sales/grant")
    assert (policy.location.line, policy.location.column) == (1, 1)
