"""Trino's OPA access-control plugin against a real server: request bodies shaped like the
plugin's own tests (trinodb/trino plugin/trino-opa: TestOpaBatchAccessControlFiltering,
TestOpaResponseDecoding, the column-masking docs), answers checked in the shapes its result
records decode (OpaQueryResult, OpaBatchQueryResult, OpaColumnMaskQueryResult,
OpaBatchColumnMaskQueryResult); mask expressions parsed by sqlglot's Trino dialect."""

from __future__ import annotations

import httpx
import pytest
import sqlglot

from governance.server.trino_config import TrinoConfigError, trino_config
from tests.server.conftest import start, stop

BASE = "/v1/data/govern/trino"


def context(user="alice", groups=("sales-analysts",), **properties):
    return {
        "identity": {"user": user, "principal": user, "groups": list(groups)},
        "softwareStack": {"trinoVersion": "TEST_VERSION"},
        "properties": {"purpose": "analytics", **properties},
    }


def table(schema, name, catalog="lakehouse", columns=None):
    found = {"catalogName": catalog, "schemaName": schema, "tableName": name}
    if columns is not None:
        found["columns"] = columns
    return {"table": found}


def column(schema, name, column_name, column_type="varchar", catalog="lakehouse"):
    return {
        "column": {
            "catalogName": catalog,
            "schemaName": schema,
            "tableName": name,
            "columnName": column_name,
            "columnType": column_type,
        }
    }


def query(operation, ctx=None, **action):
    return {"input": {"context": ctx or context(), "action": {"operation": operation, **action}}}


def post(server, path, body):
    response = server.post(f"{BASE}/{path}", json=body)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    return response.json()


def allowed(server, operation, **action):
    answer = post(server, "allow", query(operation, **action))
    assert isinstance(answer["result"], bool)
    return answer["result"]


def test_select_from_columns_is_decided_on_the_mapped_product(server):
    orders = table("sales", "orders", columns=["order_id", "payment_card_number"])
    answer = post(server, "allow", query("SelectFromColumns", resource=orders))
    assert answer["result"] is True
    assert answer["decision_id"]
    staff = table("people", "employees", columns=["employee_id"])
    assert allowed(server, "SelectFromColumns", resource=staff) is False


def test_columns_govern_does_not_know_and_unmapped_tables_are_denied(server):
    unknown_column = table("sales", "orders", columns=["order_id", "no_such_column"])
    assert allowed(server, "SelectFromColumns", resource=unknown_column) is False
    unmapped = table("scratch", "whatever", columns=["a"])
    assert allowed(server, "SelectFromColumns", resource=unmapped) is False
    # information_schema is filtered by Trino itself through the filter operations
    information = table("information_schema", "tables", columns=["table_name"])
    assert allowed(server, "SelectFromColumns", resource=information) is True


def test_physical_names_map_tables_too(server):
    by_physical = table("raw", "sales_orders", catalog="hive", columns=["order_id"])
    assert allowed(server, "SelectFromColumns", resource=by_physical) is True


def test_operations_govern_does_not_decide_follow_the_defaults(server):
    assert allowed(server, "ExecuteQuery") is True
    assert allowed(server, "AccessCatalog", resource={"catalog": {"name": "lakehouse"}}) is True
    session = {"systemSessionProperty": {"name": "query_max_run_time"}}
    assert allowed(server, "SetSystemSessionProperty", resource=session) is True
    assert (
        allowed(
            server, "CreateSchema", resource={"schema": {"catalogName": "c", "schemaName": "s"}}
        )
        is False
    )
    assert allowed(server, "DropTable", resource=table("sales", "orders")) is False
    assert allowed(server, "ImpersonateUser", resource={"user": {"user": "bob"}}) is False
    own = {"user": {"user": "alice", "groups": []}}
    other = {"user": {"user": "bob", "groups": []}}
    assert allowed(server, "ViewQueryOwnedBy", resource=own) is True
    assert allowed(server, "KillQueryOwnedBy", resource=other) is False


def test_writes_use_the_write_action(server):
    assert allowed(server, "InsertIntoTable", resource=table("sales", "orders")) is False


def test_batch_filter_tables_returns_allowed_indices(server):
    resources = [
        table("sales", "orders"),
        table("people", "employees"),
        table("sales", "customers"),
        table("nowhere", "nothing"),
    ]
    answer = post(server, "batch", query("FilterTables", filterResources=resources))
    assert answer["result"] == [0, 2]


@pytest.mark.parametrize(
    "user, groups, purpose",
    [("alice", ("sales-analysts",), "analytics"), ("dave", ("hr-partners",), "hr_administration")],
)
def test_a_batch_answers_each_table_as_allow_answers_it_alone(server, user, groups, purpose):
    """The batch decides its tables in one call; each index is in the result exactly when
    `allow` on that table alone says yes (mapped, unmapped, with known and unknown columns,
    with and without a table, in any order)."""
    resources = [
        table("people", "employees"),
        table("sales", "orders", columns=["order_id"]),
        table("nowhere", "nothing"),
        table("sales", "customers"),
        table("sales", "orders", columns=["no_such_column"]),
        {"schema": {"catalogName": "lakehouse", "schemaName": "sales"}},
        table("finance", "ledger"),
        table("sales", "orders"),
    ]
    ctx = context(user, groups, purpose=purpose)
    batch = post(server, "batch", query("FilterTables", ctx, filterResources=resources))
    alone = [
        i
        for i, resource in enumerate(resources)
        if post(server, "allow", query("FilterTables", ctx, resource=resource))["result"]
    ]
    assert batch["result"] == alone
    assert alone and len(alone) < len(resources)  # both answers occur


def test_a_batch_with_an_unreadable_item_is_400(server):
    resources = [table("sales", "orders"), {"table": {"catalogName": "lakehouse"}}]
    response = server.post(f"{BASE}/batch", json=query("FilterTables", filterResources=resources))
    assert response.status_code == 400
    assert "resource.table" in response.json()["error"]


def test_batch_filter_catalogs_and_schemas_follow_the_defaults(server):
    catalogs = [{"catalog": {"name": "catalog_one"}}, {"catalog": {"name": "catalog_two"}}]
    assert post(server, "batch", query("FilterCatalogs", filterResources=catalogs))["result"] == [
        0,
        1,
    ]
    empty = post(server, "batch", query("FilterCatalogs", filterResources=[]))
    assert empty["result"] == []


def test_batch_filter_columns_indexes_the_columns_of_the_one_table(server):
    resources = [table("sales", "orders", columns=["order_id", "no_such_column", "currency"])]
    answer = post(server, "batch", query("FilterColumns", filterResources=resources))
    assert answer["result"] == [0, 2]
    hidden = [table("people", "employees", columns=["employee_id"])]
    assert post(server, "batch", query("FilterColumns", filterResources=hidden))["result"] == []


def test_column_mask_renders_the_strategy_as_a_trino_expression(server):
    card = column("sales", "orders", "payment_card_number")
    answer = post(server, "columnMask", query("GetColumnMask", resource=card))
    expression = answer["result"]["expression"]
    assert '"payment_card_number"' in expression
    sqlglot.parse_one(f"SELECT {expression} FROM t", read="trino")
    plain = column("sales", "orders", "order_id")
    assert post(server, "columnMask", query("GetColumnMask", resource=plain))["result"] is None


def test_batch_column_masks_answer_only_masked_columns_by_index(server):
    columns = [
        column("sales", "orders", "order_id"),
        column("sales", "orders", "payment_card_number"),
        column("sales", "orders", "no_such_column", "integer"),
        column("people", "employees", "base_salary", "decimal(12,2)"),
    ]
    answer = post(server, "batchColumnMasks", query("GetColumnMask", filterResources=columns))
    by_index = {item["index"]: item["viewExpression"]["expression"] for item in answer["result"]}
    assert set(by_index) == {1, 2, 3}
    assert by_index[2] == "CAST(NULL AS integer)"  # unknown to govern: fail closed
    assert by_index[3] == "CAST(NULL AS decimal(12,2))"  # a product alice may not read
    for expression in by_index.values():
        sqlglot.parse_one(f"SELECT {expression} FROM t", read="trino")


def test_row_filters_are_an_empty_list(server):
    # the plugin's request (OpaHighLevelClient.getRowFilterExpressionsFromOpa): GetRowFilters
    # on one table; OpaRowFiltersQueryResult reads `result` as a list of view expressions
    for user, groups in [("alice", ("sales-analysts",)), ("ivan", ())]:
        body = query("GetRowFilters", context(user, groups), resource=table("sales", "orders"))
        assert post(server, "rowFilters", body) == {"result": []}
    unmapped = query("GetRowFilters", resource=table("scratch", "anything"))
    assert post(server, "rowFilters", unmapped) == {"result": []}


@pytest.mark.parametrize(
    "action",
    [
        {"operation": "SelectFromColumns", "resource": table("sales", "orders")},
        {"operation": "GetRowFilters"},
        {"operation": "GetRowFilters", "resource": {"column": {"catalogName": "lakehouse"}}},
        {"operation": "GetRowFilters", "resource": {"table": {"catalogName": "lakehouse"}}},
    ],
)
def test_row_filter_requests_that_are_not_the_plugins_are_400(server, action):
    body = {"input": {"context": context(), "action": action}}
    response = server.post(f"{BASE}/rowFilters", json=body)
    assert response.status_code == 400
    assert response.json()["error"]


def test_groups_come_from_trino_and_attributes_from_the_directory(server):
    # gina is a contractor in the fixtures: the same groups, a different decision than alice
    gina = context(user="gina", groups=("sales-analysts",))
    customers = table("sales", "customers", columns=["customer_id"])
    alice_answer = post(server, "allow", query("SelectFromColumns", resource=customers))
    gina_answer = post(server, "allow", query("SelectFromColumns", ctx=gina, resource=customers))
    assert alice_answer["result"] is True
    assert gina_answer["result"] is False
    stranger = context(user="nobody", groups=())
    assert (
        post(server, "allow", query("SelectFromColumns", ctx=stranger, resource=customers))[
            "result"
        ]
        is False
    )


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("allow", {}),
        ("allow", {"input": []}),
        ("allow", {"input": {"action": {"operation": "ExecuteQuery"}}}),
        (
            "allow",
            {
                "input": {
                    "context": {"identity": {"user": 3}},
                    "action": {"operation": "ExecuteQuery"},
                }
            },
        ),
        ("allow", {"input": {"context": context(), "action": {}}}),
        ("allow", query("SelectFromColumns", resource={"table": {"catalogName": "c"}})),
        ("batch", query("FilterTables")),  # no filterResources
        ("columnMask", query("GetColumnMask", resource={"column": {"columnName": "x"}})),
    ],
)
def test_malformed_plugin_requests_are_400(server, path, body):
    response = server.post(f"{BASE}/{path}", json=body)
    assert response.status_code == 400
    assert response.json()["error"]


def test_a_configured_mapping_and_defaults(tmp_path):
    config = tmp_path / "trino.yaml"
    config.write_text(
        "tables:\n"
        "  'warehouse.crm.*': sales.customers\n"
        "otherwise: allow\n"
        "allow: [ExecuteQuery]\n"
        "context: {purpose: analytics}\n"
        "context_properties: []\n"
    )
    process, url = start("--trino", str(config))
    try:
        with httpx.Client(base_url=url, timeout=10) as client:
            ctx = context(purpose="marketing")  # ignored: context_properties is empty
            mapped = table("crm", "anything", catalog="warehouse", columns=["customer_id"])
            assert (
                post(client, "allow", query("SelectFromColumns", ctx=ctx, resource=mapped))[
                    "result"
                ]
                is True
            )
            # not in `allow` any more, but `otherwise: allow`
            assert (
                post(client, "allow", query("AccessCatalog", resource={"catalog": {"name": "x"}}))[
                    "result"
                ]
                is True
            )
    finally:
        stop(process)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"tabels": {}}, "unknown key `tabels`"),
        ({"tables": {"just.two": "sales.orders"}}, "not catalog.schema.table"),
        ({"tables": {"a.b.c": 3}}, "must name a product"),
        ({"otherwise": "maybe"}, "expected `allow` or `deny`"),
        ({"allow": "ExecuteQuery"}, "expected a list"),
    ],
)
def test_config_errors_name_the_problem(document, message):
    with pytest.raises(TrinoConfigError, match=message):
        trino_config(document)


def test_serve_refuses_a_mapping_to_an_unknown_product(tmp_path):
    config = tmp_path / "trino.yaml"
    config.write_text("tables:\n  'a.b.c': no.such_product\n")
    with pytest.raises(RuntimeError, match="unknown product"):
        start("--trino", str(config))


def test_the_example_trino_yaml_is_valid_and_matches_the_defaults():
    from pathlib import Path

    from governance.server.trino_config import TrinoConfig, load_trino_config

    example = load_trino_config(Path(__file__).parents[2] / "examples/trino/trino.yaml")
    defaults = TrinoConfig()
    assert example.actions == defaults.actions
    assert example.allowed == defaults.allowed
    assert example.own_queries == defaults.own_queries
    assert example.passthrough_tables == defaults.passthrough_tables
    assert dict(example.tables)["lakehouse.hr.staff"].product == "people.employees"
