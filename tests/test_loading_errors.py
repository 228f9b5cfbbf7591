"""SPEC 5 (load side): every malformed input is a typed, located problem; all are reported."""

from __future__ import annotations

import pytest

from governance import LoadError
from governance.tree.load import load_tree
from tests.treebuilder import TreeBuilder, errors

OK_POLICY = '@id("all")\npermit (principal, action, resource);\n'


@pytest.fixture
def tree(tmp_path):
    t = TreeBuilder(tmp_path)
    t.product("sales.orders", ["order_id"])
    t.cedar("global", OK_POLICY)
    return t


def only_error(tree):
    with pytest.raises(LoadError) as exc:
        tree.engine()
    found = exc.value.errors
    assert len(found) == 1, found
    return found[0]


def test_minimal_tree_loads_cleanly(tree):
    loaded, problems = load_tree(tree.root)
    assert loaded is not None
    assert errors(problems) == []
    assert set(loaded.products()) == {"sales.orders"}


def test_missing_tree_is_reported_not_raised(tmp_path):
    loaded, problems = load_tree(tmp_path / "nowhere")
    assert loaded is None
    assert [p.code for p in problems] == ["not-found"]


def test_broken_yaml_is_located(tree):
    tree.classification(
        "sales",
        """\
        rules:
          - id: emails
            match: {columns: [email]
            level: confidential
        """,
    )
    problem = only_error(tree)
    assert problem.code == "yaml"
    assert problem.location.file == tree.rel("domains/sales/classification.yaml")
    assert problem.location.line >= 3
    assert problem.location.column > 0
    assert "\n" not in problem.message


def test_broken_yaml_in_a_product_is_located(tree):
    tree.write("domains/sales/products/broken.yaml", "id: sales.broken\ndomain: [sales\n")
    with pytest.raises(LoadError) as exc:
        tree.engine()
    [problem] = [p for p in exc.value.errors if p.code == "yaml"]
    assert problem.location.file == tree.rel("domains/sales/products/broken.yaml")
    assert problem.location.line >= 2
    assert problem.location.column > 0


def test_broken_yaml_in_a_product_is_one_error_not_a_cascade(tree):
    tree.write("domains/sales/products/broken.yaml", "id: sales.broken\ndomain: [sales\n")
    problem = only_error(tree)
    assert problem.code == "yaml"


def test_unknown_key_in_rules_file_is_an_error_at_its_line(tree):
    tree.retention(
        "global",
        """\
        rules:
          - id: tax
            min: P7Y
            lockd: true
        """,
    )
    problem = only_error(tree)
    assert problem.code == "schema"
    assert problem.location.file == tree.rel("global/retention.yaml")
    assert (problem.location.line, problem.location.column) == (4, 5)
    assert "lockd" in problem.message


def test_unknown_key_in_classification_match_is_an_error_at_its_line(tree):
    tree.classification(
        "global",
        """\
        rules:
          - id: emails
            match:
              column: ["*email*"]
            level: confidential
        """,
    )
    problem = only_error(tree)
    assert problem.location.file == tree.rel("global/classification.yaml")
    assert problem.location.line == 4
    assert "column" in problem.message


def test_missing_id_is_located(tree):
    tree.cedar(
        "sales",
        '@id("fine")\npermit (principal, action, resource);\n\n'
        '@reason("forgot the id")\npermit (principal, action == Action::"read", resource);\n',
        "grants.cedar",
    )
    problem = only_error(tree)
    assert problem.code == "missing-id"
    assert problem.location.file == tree.rel("domains/sales/access/grants.cedar")
    assert problem.location.line == 4


def test_duplicate_id_is_located(tree):
    tree.cedar("sales", '@id("dup")\npermit (principal, action, resource);\n', "a.cedar")
    tree.cedar("sales", '\n\n@id("dup")\nforbid (principal, action, resource);\n', "b.cedar")
    problem = only_error(tree)
    assert problem.code == "duplicate-id"
    assert problem.location.file == tree.rel("domains/sales/access/b.cedar")
    assert problem.location.line == 3
    assert "dup" in problem.message
    # the first definition, named relative to the tree root as engine-loaded files are
    assert "domains/sales/access/a.cedar:1:1" in problem.message


def test_same_id_in_two_layers_is_fine(tree):
    tree.cedar("sales", OK_POLICY)
    assert errors(tree.load()[1]) == []


def test_duplicate_rule_id_is_an_error(tree):
    tree.retention("sales", [{"id": "r", "min": "P1Y"}, {"id": "r", "max": "P2Y"}])
    assert only_error(tree).code == "duplicate-id"


def test_cedar_syntax_error_is_at_the_policys_line(tree):
    tree.cedar(
        "sales",
        '@id("fine")\npermit (principal, action, resource);\n'
        "\n"
        "// broken one below\n"
        '@id("broken")\npermit (principal, action, resource) when { resource. };\n',
        "grants.cedar",
    )
    problem = only_error(tree)
    assert problem.code == "cedar-syntax"
    assert problem.location.file == tree.rel("domains/sales/access/grants.cedar")
    assert problem.location.line == 5
    assert "\n" not in problem.message


def test_schema_type_error_is_reported_by_policy(tree):
    tree.cedar(
        "sales",
        '@id("fine")\npermit (principal, action, resource);\n'
        '@id("typed")\npermit (principal, action, resource)'
        ' when { resource.sensitivity == "x" };\n',
        "grants.cedar",
    )
    problem = only_error(tree)
    assert problem.code == "cedar-schema"
    assert problem.location.file == tree.rel("domains/sales/access/grants.cedar")
    assert problem.location.line == 3  # the `typed` policy, not the first of the file
    assert "policy1" not in problem.message


def test_unknown_action_in_policy_is_an_error(tree):
    tree.cedar("sales", '@id("x")\npermit (principal, action == Action::"fly", resource);\n')
    with pytest.raises(LoadError) as exc:
        tree.engine()
    assert "fly" in str(exc.value)


def test_several_errors_in_different_files_are_all_reported(tree):
    tree.classification("global", "rules: [\n")  # yaml
    tree.retention("sales", [{"id": "r", "min": "forever"}])  # bad-duration
    tree.cedar("sales", "permit (principal, action, resource);\n", "noid.cedar")  # missing-id
    tree.cedar("finance", '@id("x")\npermit (principal, action, resource) when {;\n')  # syntax
    tree.product("sales.bad", [{"name": "c", "classification": "ultra"}])  # unknown-level
    with pytest.raises(LoadError) as exc:
        tree.engine()
    found = {(p.code, p.location.file) for p in exc.value.errors}
    assert found >= {
        ("yaml", tree.rel("global/classification.yaml")),
        ("bad-duration", tree.rel("domains/sales/retention.yaml")),
        ("missing-id", tree.rel("domains/sales/access/noid.cedar")),
        ("cedar-syntax", tree.rel("domains/finance/access/policies.cedar")),
        ("unknown-level", tree.rel("domains/sales/products/bad.yaml")),
    }
    # every problem names its file and, for these, a line
    assert all(p.location.line > 0 for p in exc.value.errors)
    # the message lists them all, one per line
    assert str(exc.value).count("error[") == len(exc.value.errors)


def test_product_in_wrong_domain_folder_is_an_error(tree):
    tree.product("finance.ledger", ["x"], domain="sales")
    tree.write(
        "domains/sales/products/ledger.yaml",
        {"id": "finance.ledger", "domain": "finance", "schema": []},
    )
    assert "domain-mismatch" in {p.code for p in errors(tree.load()[1])}


def test_duplicate_product_id_across_domains_is_an_error(tree):
    tree.write("domains/finance/domain.yaml", {"name": "finance"})
    tree.write("domains/finance/products/o.yaml", {"id": "sales.orders", "domain": "finance"})
    assert "duplicate-id" in {p.code for p in errors(tree.load()[1])}


def test_missing_domain_yaml_is_an_error(tree):
    (tree.root / "domains/sales/domain.yaml").unlink()
    assert "missing-file" in {p.code for p in errors(tree.load()[1])}


def test_problem_to_dict_is_stable(tree):
    tree.cedar("sales", "permit (principal, action, resource);\n")
    problem = only_error(tree)
    assert set(problem.to_dict()) == {"file", "line", "column", "code", "severity", "message"}
