"""Which way a client's statement goes: catalog queries to the browsing catalog, others planned
against the data products."""

from __future__ import annotations

from collections.abc import Mapping

from governance.gateway.browse_sql import CatalogQuery, is_catalog_query, rewrite
from governance.gateway.policy_sql import QueryPlan, one_query, plan_query
from governance.gateway.relations import Relation


def plan_statement(
    sql: str, catalog: Mapping[tuple[str, str], Relation]
) -> QueryPlan | CatalogQuery:
    """Refused (policy_sql.Refused) for anything but one read query; depends only on the text
    and the catalog, so callers may cache it."""
    tree = one_query(sql)
    if is_catalog_query(tree):
        return rewrite(tree)
    return plan_query(tree, catalog)
