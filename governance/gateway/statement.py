"""Which way a client's statement goes: catalog queries to the browsing catalog, others planned
against the data products."""

from __future__ import annotations

from collections.abc import Mapping

from sqlglot.tokenizer_core import Token

from governance.gateway.browse_sql import CatalogQuery, is_catalog_query, rewrite
from governance.gateway.policy_sql import QueryPlan, one_query, plan_query
from governance.gateway.relations import Relation


def plan_statement(
    sql: str, catalog: Mapping[tuple[str, str], Relation], tokens: list[Token] | None = None
) -> QueryPlan | CatalogQuery:
    """Refused (policy_sql.Refused) for anything but one read query; depends only on the text
    (of which `tokens` are the tokens, when the caller has them) and the catalog, so callers
    may cache it."""
    tree = one_query(sql, tokens)
    if is_catalog_query(tree):
        return rewrite(tree)
    return plan_query(tree, catalog)
