"""Classification cannot be dodged by structure: name rules reach nested and table-qualified
columns, a table's classification and tags reach its columns, and column keys stay unique."""

from __future__ import annotations

from pathlib import Path

import pytest

from governance import LoadError
from tests.treebuilder import TreeBuilder, errors, request

ODCS = Path(__file__).parent / "fixtures" / "odcs"
NAME_RULES = [
    {"id": "dates-of-birth", "match": {"columns": ["dob"]}, "level": "restricted", "labels": ["pii"]},
    {"id": "first-names", "match": {"columns": ["first_name"]}, "level": "confidential"},
]  # fmt: skip


@pytest.fixture
def tree(tmp_path):
    t = TreeBuilder(tmp_path)
    t.cedar("global", '@id("all")\npermit (principal, action, resource);\n')
    t.classification("global", NAME_RULES)
    return t


def columns_of(tree: TreeBuilder, product: str) -> dict:
    decision = tree.engine().decide(request(product=product, columns=[])).to_dict(all_columns=True)
    return decision["classification"]["columns"]


def contract(tree: TreeBuilder, name: str, text: str) -> None:
    tree.domain("sales")
    tree.write(f"domains/sales/products/{name}.yaml", text)


def test_exact_name_rule_matches_a_nested_column(tree):
    contract(tree, "people", """\
        id: sales.people
        schema:
          - name: people
            properties:
              - name: person
                logicalType: object
                properties:
                  - {name: dob, logicalType: date}
                  - {name: first_name, logicalType: string}
              - {name: person_id, logicalType: string}
        """)  # fmt: skip
    found = columns_of(tree, "sales.people")
    assert found["person.dob"]["level"] == "restricted"
    assert found["person.first_name"]["level"] == "confidential"
    assert found["person_id"]["level"] == "public"


def test_exact_name_rule_matches_table_qualified_columns(tree):
    contract(tree, "crm", """\
        id: sales.crm
        schema:
          - name: leads
            properties: [{name: dob}, {name: lead_id}]
          - name: contacts
            properties: [{name: dob}, {name: contact_id}]
        """)  # fmt: skip
    found = columns_of(tree, "sales.crm")
    assert found["leads.dob"]["level"] == found["contacts.dob"]["level"] == "restricted"


def test_path_and_key_globs_still_match(tree):
    tree.classification("sales", [{"id": "whole-person", "match": {"columns": ["person.*"]},
                                   "level": "internal"}])  # fmt: skip
    contract(tree, "p", """\
        id: sales.p
        schema:
          - name: p
            properties:
              - name: person
                properties: [{name: shoe_size}]
        """)  # fmt: skip
    assert columns_of(tree, "sales.p")["person.shoe_size"]["level"] == "internal"


def test_arrays_of_objects_are_flattened_through_items(tree):
    contract(tree, "routes", (ODCS / "routes.yaml").read_text())
    found = columns_of(tree, "sales.routes")
    assert sorted(found) == [
        "driver.dob", "driver.first_name", "route_id", "stops.address", "stops.arrived_at",
        "tolls",
    ]  # fmt: skip
    assert found["driver.dob"]["level"] == "restricted"
    # the table says `internal`: every column is at least that
    assert found["stops.address"]["level"] == "internal"
    assert found["route_id"]["level"] == "internal"


def test_table_classification_applies_to_its_columns(tree):
    contract(tree, "t", """\
        id: sales.t
        schema:
          - name: salaries
            classification: confidential
            properties: [{name: amount}, {name: note, classification: restricted}]
          - name: other
            properties: [{name: free}]
        """)  # fmt: skip
    found = columns_of(tree, "sales.t")
    assert found["amount"]["level"] == "confidential"
    assert found["amount"]["sources"][0]["source"].endswith(":3:5")  # the table's own line
    assert found["note"]["level"] == "restricted"
    assert found["free"]["level"] == "public"


def test_table_and_object_tags_apply_to_their_columns(tree):
    tree.classification("sales", [{"id": "pii-tag", "match": {"tags": ["pii"]},
                                   "level": "confidential"}])  # fmt: skip
    tree.cedar("global", '@id("pii-hidden")\nforbid (principal, action, resource)\n'
               'when { resource.tags.contains("pii") };\n', "pii.cedar")  # fmt: skip
    contract(tree, "t", """\
        id: sales.t
        schema:
          - name: contacts
            tags: [pii]
            properties:
              - {name: phone}
          - name: misc
            properties:
              - name: holder
                tags: [pii]
                properties: [{name: phone}]
              - {name: count}
        """)  # fmt: skip
    loaded = tree.load()[0]
    tags = {c.key: c.tags for c in loaded.products()["sales.t"].columns}
    assert tags == {"phone": ("pii",), "holder.phone": ("pii",), "count": ()}
    decision = tree.engine().decide(request(product="sales.t", columns="*")).to_dict()
    assert sorted(m["column"] for m in decision["masks"]) == ["holder.phone", "phone"]


def test_unknown_level_on_a_table_is_located_once(tree):
    contract(tree, "t", """\
        id: sales.t
        schema:
          - name: t
            classification: secretish
            properties: [{name: a}, {name: b}]
        """)  # fmt: skip
    found = [p for p in errors(tree.load()[1]) if p.code == "unknown-level"]
    assert [p.location.line for p in found] == [3]
    with pytest.raises(LoadError):
        tree.engine()


@pytest.mark.parametrize(
    "schema",
    [
        # the same name twice in one table
        "  - name: t\n    properties: [{name: a}, {name: a}]\n",
        # a nested path that spells another table's qualified key
        "  - name: t\n    properties: [{name: x}]\n"
        "  - name: u\n    properties: [{name: x}, {name: t, properties: [{name: x}]}]\n",
    ],
)
def test_a_column_key_given_twice_is_a_located_error(tree, schema):
    contract(tree, "t", "id: sales.t\nschema:\n" + schema)
    [problem] = [p for p in errors(tree.load()[1]) if p.code == "duplicate-id"]
    assert problem.location.file == tree.rel("domains/sales/products/t.yaml")
    assert problem.location.line > 3 and "defined twice" in problem.message


def test_decision_keys_are_unique(tree):
    tree.cedar("global", '@id("mask-all")\nforbid (principal, action, resource is Column)\n'
               "when { resource.sensitivity > 0 };\n", "mask.cedar")  # fmt: skip
    contract(tree, "t", """\
        id: sales.t
        schema:
          - name: a
            properties: [{name: dob}, {name: first_name}]
          - name: b
            properties: [{name: dob}, {name: person, properties: [{name: first_name}]}]
        """)  # fmt: skip
    decision = tree.engine().decide(request(product="sales.t", columns="*")).to_dict()
    keys = [m["column"] for m in decision["masks"]]
    assert len(keys) == len(set(keys)) == 4


def test_masking_name_rules_match_nested_columns_too(tree):
    tree.masking("global", [{"id": "dob-year", "strategy": "truncate", "unit": "year",
                             "match": {"columns": ["dob"]}}])  # fmt: skip
    tree.cedar("global", '@id("no-pii")\nforbid (principal, action, resource is Column)\n'
               'when { resource.labels.contains("pii") };\n', "pii.cedar")  # fmt: skip
    contract(tree, "p", """\
        id: sales.p
        schema:
          - name: p
            properties:
              - name: person
                properties: [{name: dob}]
        """)  # fmt: skip
    decision = tree.engine().decide(request(product="sales.p", columns="*")).to_dict()
    [mask] = decision["masks"]
    assert mask["column"] == "person.dob" and mask["strategy"]["name"] == "truncate"
