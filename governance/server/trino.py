"""Trino's OPA access-control plugin: its `{"input": ...}` requests in, `{"result": ...}` out.

The shapes are the plugin's own (trinodb/trino, plugin/trino-opa): `OpaQueryInput` with
`context.identity` and `action.operation`, `resource` or `filterResources`; answers as
`OpaQueryResult` (a boolean), `OpaBatchQueryResult` (allowed indices),
`OpaColumnMaskQueryResult` (one view expression or null) and `OpaBatchColumnMaskQueryResult`
(`{index, viewExpression}` items). Table operations are decided by the engine on the product
the table maps to; the rest follow trino.yaml (docs/server.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from governance.engine import Engine
from governance.rules.mask_sql import MaskKeyError, render_mask
from governance.rules.masking import NULL, Strategy
from governance.server.authzen import BadRequest, Decide, DecideMany
from governance.server.directory import Directory
from governance.server.trino_config import TrinoConfig
from governance.server.trino_tables import ProductTable, TableMap

_TABLE_KEYS = ("catalogName", "schemaName", "tableName")
_COLUMN_KEYS = (*_TABLE_KEYS, "columnName", "columnType")


@dataclass(frozen=True, slots=True)
class Caller:
    """The Trino identity as a govern subject, and the context of its decisions."""

    user: str
    subject: dict[str, Any]
    context: dict[str, Any]


class TrinoPlugin:
    def __init__(
        self, engine: Engine, config: TrinoConfig, directory: Directory, max_batch: int
    ) -> None:
        self._engine = engine
        self._max_batch = max_batch
        self._config = config
        self._directory = directory
        self._tables = TableMap(config, engine.snapshot)

    def allow(self, body: Any, decide: Decide) -> dict[str, Any]:
        """`opa.policy.uri`: one operation, one boolean."""
        caller, action = self._read(body)
        outcome = self._outcome(caller, action["operation"], action.get("resource"))
        if type(outcome) is bool:
            return {"result": outcome}
        decision = decide(outcome)
        return {"decision_id": decision.decision_id, "result": decision.allowed}

    def batch(self, body: Any, decide: Decide, decide_many: DecideMany) -> dict[str, Any]:
        """`opa.policy.batched-uri`: the indices of `filterResources` allowed. FilterColumns
        sends one table with its columns; the indices are then the columns'. Every item is
        read before any is decided (one that cannot be read is a 400 with nothing decided),
        and the tables govern decides are decided in one `decide_many` call: one caller's
        requests, read and bound once."""
        caller, action = self._read(body)
        operation, items = action["operation"], action.get("filterResources")
        items = self._filter_resources(items)
        if operation == "FilterColumns" and len(items) == 1:
            table = _object(items[0], "filterResources[0]").get("table")
            if isinstance(table, dict) and isinstance(table.get("columns"), list):
                return {"result": self._visible_columns(caller, table, decide)}
        outcomes = [
            self._outcome(caller, operation, _object(item, f"filterResources[{index}]"))
            for index, item in enumerate(items)
        ]
        requests = [o for o in outcomes if type(o) is not bool]
        decided = iter(decide_many(requests, None) if requests else ())
        allowed = [
            index
            for index, outcome in enumerate(outcomes)
            if (outcome if type(outcome) is bool else next(decided).allowed)
        ]
        return {"result": allowed}

    def column_mask(self, body: Any, decide: Decide) -> dict[str, Any]:
        """`opa.policy.column-masking-uri`: the column's mask expression, or null for none."""
        caller, action = self._read(body)
        resource = _object(action.get("resource"), "input.action.resource")
        column = _column(resource.get("column"), "input.action.resource.column")
        (expression,) = self._masks(caller, [column], decide)
        return {"result": None if expression is None else {"expression": expression}}

    def batch_column_masks(self, body: Any, decide: Decide) -> dict[str, Any]:
        """`opa.policy.batch-column-masking-uri`: `{index, viewExpression}` for masked columns."""
        caller, action = self._read(body)
        items = self._filter_resources(action.get("filterResources"))
        columns = [
            _column(
                _object(item, f"filterResources[{i}]").get("column"), f"filterResources[{i}].column"
            )
            for i, item in enumerate(items)
        ]
        expressions = self._masks(caller, columns, decide)
        return {
            "result": [
                {"index": i, "viewExpression": {"expression": e}}
                for i, e in enumerate(expressions)
                if e is not None
            ]
        }

    def row_filters(self, body: Any, decide: Decide) -> dict[str, Any]:
        """`opa.policy.row-filters-uri`: the plugin's `GetRowFilters` on one table, answered as
        `OpaRowFiltersQueryResult`. govern's policies decide products and columns, never rows,
        so the answer is always the empty list: what the plugin itself uses when the URI is not
        set. Access to the table is decided apart (`SelectFromColumns`), so no filter is never
        a grant."""
        _, action = self._read(body)
        if action["operation"] != "GetRowFilters":
            raise BadRequest("the row filters endpoint answers the `GetRowFilters` operation")
        resource = _object(action.get("resource"), "input.action.resource")
        _names(_object(resource.get("table"), "resource.table"), _TABLE_KEYS, "resource.table")
        return {"result": []}

    # --- reading ---------------------------------------------------------------------------

    def _filter_resources(self, items: Any) -> list[Any]:
        if not isinstance(items, list):
            raise BadRequest("`input.action.filterResources` must be an array")
        if len(items) > self._max_batch:
            raise BadRequest(
                f"`filterResources` holds {len(items)} items, more than the limit {self._max_batch}"
            )
        return items

    def _read(self, body: Any) -> tuple[Caller, dict[str, Any]]:
        if not isinstance(body, dict):
            raise BadRequest("the request body must be a JSON object")
        query = _object(body.get("input"), "input")
        context = _object(query.get("context"), "input.context")
        identity = _object(context.get("identity"), "input.context.identity")
        user = identity.get("user")
        if not isinstance(user, str) or not user:
            raise BadRequest("`input.context.identity.user` must be a non-empty string")
        groups = identity.get("groups") or []
        if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
            raise BadRequest("`input.context.identity.groups` must be an array of strings")
        action = _object(query.get("action"), "input.action")
        if not isinstance(action.get("operation"), str):
            raise BadRequest("`input.action.operation` must be a string")
        return Caller(user, self._subject(user, groups), self._context(context)), action

    def _subject(self, user: str, groups: list[str]) -> dict[str, Any]:
        """The user's attributes from the principals govern knows; groups are Trino's and the
        directory's together (both are identity sources the operator configured)."""
        known = self._directory.find("User", user)
        properties = dict(known.get("properties") or {}) if known else {}
        properties["groups"] = sorted({*properties.get("groups", []), *groups})
        return {"type": "User", "id": user, "properties": properties}

    def _context(self, context: dict[str, Any]) -> dict[str, Any]:
        """trino.yaml's `context`, overridden by the plugin's additional context properties
        named in `context_properties` (set by the Trino operator in `opa.context-file`)."""
        extra = context.get("properties") or {}
        if not isinstance(extra, dict):
            raise BadRequest("`input.context.properties` must be an object")
        named = self._config.context_properties
        return {**self._config.context, **{k: v for k, v in extra.items() if k in named}}

    # --- deciding --------------------------------------------------------------------------

    def _table_map(self) -> TableMap:
        snapshot = self._engine.snapshot
        if self._tables.snapshot is not snapshot:  # a reload: products may have changed
            self._tables = TableMap(self._config, snapshot)
        return self._tables

    def _outcome(self, caller: Caller, operation: str, resource: Any) -> bool | dict[str, Any]:
        """The answer to one operation when trino.yaml gives it, else the request for the
        engine to decide."""
        config = self._config
        if operation in config.allowed:
            return True
        if operation in config.own_queries:
            owner = _object(resource, "resource").get("user")
            return isinstance(owner, dict) and owner.get("user") == caller.user
        action = config.actions.get(operation)
        if action is None:
            return config.otherwise == "allow"
        table = _object(resource, "resource").get("table")
        if not isinstance(table, dict):
            return False  # a table operation without a table: nothing to decide on
        names = _names(table, _TABLE_KEYS, "resource.table")
        tables = self._table_map()
        target = tables.resolve(*names)
        if target is None:
            return tables.passthrough(*names) or config.unmapped_tables == "allow"
        columns = table.get("columns")
        if columns is not None and not (
            isinstance(columns, list) and all(isinstance(c, str) for c in columns)
        ):
            raise BadRequest("`resource.table.columns` must be an array of names")
        keys = _keys(target, columns)
        if keys is None:
            return False  # a column govern's catalog does not have: fail closed
        return self._request(caller, action, target, keys)

    def _visible_columns(self, caller: Caller, table: dict[str, Any], decide: Decide) -> list[int]:
        names = _names(table, _TABLE_KEYS, "filterResources[0].table")
        columns = table["columns"]
        if not all(isinstance(c, str) for c in columns):
            raise BadRequest("`filterResources[0].table.columns` must be an array of names")
        tables = self._table_map()
        target = tables.resolve(*names)
        if target is None:
            everything = tables.passthrough(*names) or self._config.unmapped_tables == "allow"
            return list(range(len(columns))) if everything else []
        known = [(i, target.columns.get(c.lower())) for i, c in enumerate(columns)]
        keys = [k for _, k in known if k is not None]
        action = self._config.actions.get("FilterColumns", "read")
        if not decide(self._request(caller, action, target, keys)).allowed:
            return []
        return [i for i, key in known if key is not None]

    def _masks(
        self, caller: Caller, columns: list[tuple[str, ...]], decide: Decide
    ) -> list[str | None]:
        """Per column: its strategy as a Trino expression, None when it is not masked. A
        column of a product the caller may not read, or one govern does not know, is NULL."""
        by_table: dict[tuple[str, ...], list[int]] = {}
        for index, column in enumerate(columns):
            by_table.setdefault(column[:3], []).append(index)
        expressions: list[str | None] = [None] * len(columns)
        tables = self._table_map()
        for names, indices in by_table.items():
            target = tables.resolve(*names)
            if target is None:
                continue  # not a product: nothing of govern's to mask (access decided elsewhere)
            keys = {i: target.columns.get(columns[i][3].lower()) for i in indices}
            known = [k for k in keys.values() if k is not None]
            action = self._config.actions.get("SelectFromColumns", "read")
            decision = decide(self._request(caller, action, target, known))
            masks = {m.column: m.strategy for m in decision.masks} if decision.allowed else None
            for i, key in keys.items():
                if masks is None or key is None:
                    expressions[i] = _expression(NULL, columns[i])
                elif key in masks:
                    expressions[i] = _expression(masks[key], columns[i])
        return expressions

    def _request(
        self, caller: Caller, action: str, target: ProductTable, keys: list[str] | None
    ) -> dict[str, Any]:
        resource: dict[str, Any] = {"type": "DataProduct", "id": target.product}
        if keys is not None:
            resource["properties"] = {"columns": keys}
        return {
            "subject": caller.subject,
            "action": {"name": action},
            "resource": resource,
            "context": caller.context,
        }


def _keys(target: ProductTable, columns: list[str] | None) -> list[str] | None:
    """The govern keys of the named columns (None: one is unknown); without names, the
    table's columns, so a table of a several-table product is decided on its own columns."""
    if columns is None:
        return list(target.columns.values())
    keys = [target.columns.get(c.lower()) for c in columns]
    return None if any(k is None for k in keys) else [k for k in keys if k is not None]


def _expression(strategy: Strategy, column: tuple[str, ...]) -> str:
    quoted = '"' + column[3].replace('"', '""') + '"'
    try:
        return render_mask(strategy, quoted, "trino", column_type=column[4])
    except MaskKeyError:  # a hash without its key cannot be rendered: the strictest instead
        return render_mask(NULL, quoted, "trino", column_type=column[4])


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise BadRequest(f"`{where}` must be an object")
    return value


def _names(value: dict[str, Any], keys: tuple[str, ...], where: str) -> tuple[str, ...]:
    names = tuple(value.get(k) for k in keys)
    for key, name in zip(keys, names, strict=True):
        if not isinstance(name, str):
            raise BadRequest(f"`{where}.{key}` must be a string")
    return names  # type: ignore[return-value]


def _column(value: Any, where: str) -> tuple[str, ...]:
    return _names(_object(value, where), _COLUMN_KEYS, where)
