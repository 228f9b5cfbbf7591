"""Nothing is silently ignored: unread files warn, waiver narrowing names real actions and products."""

from __future__ import annotations

from tests.test_waivers import GUARDRAILS, waiver
from tests.treebuilder import TreeBuilder


def fresh(tmp_path) -> TreeBuilder:
    tree = TreeBuilder(tmp_path)
    tree.cedar("global", GUARDRAILS, "guardrails.cedar")
    tree.product("marketing.audiences", ["audience_id"])
    tree.product("sales.orders", ["order_id"])
    return tree


def unread(tree: TreeBuilder) -> dict[str, str]:
    _, problems = tree.load()
    found = {p.location.file: p.message for p in problems if p.code == "unread-file"}
    assert all(p.severity == "warning" for p in problems if p.code == "unread-file")
    return {file.split(str(tree.root) + "/", 1)[-1]: message for file, message in found.items()}


def test_a_domains_own_waivers_file_warns_that_only_the_central_team_grants_waivers(tmp_path):
    tree = fresh(tmp_path)
    tree.write("domains/marketing/waivers.yaml", {"waivers": [waiver()]})
    found = unread(tree)
    assert list(found) == ["domains/marketing/waivers.yaml"]
    assert "global/waivers.yaml" in found["domains/marketing/waivers.yaml"]


def test_a_misspelt_folder_warns_with_the_name_it_probably_meant(tmp_path):
    tree = fresh(tmp_path)
    tree.write("domains/sales/product/extra.yaml", {"id": "sales.extra"})
    tree.write("global/clasification.yaml", {"rules": []})
    found = unread(tree)
    assert set(found) == {"domains/sales/product", "global/clasification.yaml"}
    assert "did you mean `products`?" in found["domains/sales/product"]
    assert "did you mean `classification.yaml`?" in found["global/clasification.yaml"]


def test_files_below_read_folders_that_the_loader_skips_warn(tmp_path):
    tree = fresh(tmp_path)
    tree.write("domains/sales/products/old/orders.yaml", {"id": "sales.old"})
    tree.write("domains/sales/products/orders.json", "{}")
    tree.write("global/tests/nested/cases.yaml", {"cases": []})
    tree.write("domains/sales.yaml", {"name": "sales"})
    tree.write("fixture.yaml", {"principals": {}})
    assert set(unread(tree)) == {
        "domains/sales/products/old/orders.yaml",
        "domains/sales/products/orders.json",
        "global/tests/nested/cases.yaml",
        "domains/sales.yaml",
        "fixture.yaml",
    }


def test_documentation_and_hidden_files_are_not_warned_about(tmp_path):
    tree = fresh(tmp_path)
    for name in ("README.md", "global/NOTES.md", "domains/sales/README", ".gitignore",
                 "domains/sales/access/.swp", "global/access/.hidden/x.cedar"):  # fmt: skip
        tree.write(name, "text\n")
    assert unread(tree) == {}


def waiver_problems(tmp_path, **narrowing):
    tree = fresh(tmp_path)
    tree.waivers([waiver(**narrowing)])
    _, problems = tree.load()
    return [p for p in problems if p.code in {"unknown-action", "unknown-product", "broad-waiver"}]


def test_a_waiver_naming_an_unknown_action_is_an_error(tmp_path):
    (problem,) = waiver_problems(tmp_path, groups=["ops"], actions=["exprot"])
    assert (problem.code, problem.severity) == ("unknown-action", "error")
    assert "`exprot`" in problem.message and problem.location.line > 0


def test_a_waiver_product_glob_that_matches_nothing_is_an_error(tmp_path):
    (problem,) = waiver_problems(tmp_path, products=["marketing.audeinces", "marketing.aud*"])
    assert (problem.code, problem.severity) == ("unknown-product", "error")
    assert "`marketing.audeinces`" in problem.message


def test_a_waiver_with_no_narrowing_at_all_is_a_warning(tmp_path):
    (problem,) = waiver_problems(tmp_path)
    assert (problem.code, problem.severity) == ("broad-waiver", "warning")
    assert "every request of domain `marketing`" in problem.message


def test_a_narrow_waiver_on_real_names_passes(tmp_path):
    assert waiver_problems(tmp_path, products=["marketing.aud*"], actions=["export"]) == []
