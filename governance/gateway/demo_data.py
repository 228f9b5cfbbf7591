"""Synthetic rows for every catalog table, as Parquet: realistic-looking emails, IBANs, salaries."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from governance.gateway.relations import Relation, SqlColumn

_FIRST = [
    "Anna",
    "Ben",
    "Chloé",
    "David",
    "Elif",
    "Farid",
    "Greta",
    "Hugo",
    "Ines",
    "Jonas",
    "Kenji",
    "Lena",
]
_LAST = [
    "Schmidt",
    "Dubois",
    "Rossi",
    "García",
    "Nowak",
    "Jansen",
    "Silva",
    "Berg",
    "Kowalski",
    "Moreau",
]
_CITIES = ["Berlin", "Paris", "Madrid", "Milan", "Amsterdam", "Lisbon", "Warsaw", "Vienna"]
_ROWS = 40


def write_demo_data(
    catalog: Mapping[tuple[str, str], Relation], target: Path, seed: int = 7
) -> list[Path]:
    """One Parquet file per relation under `target/<domain>/<name>.parquet`; ids share a pool
    per column name (`customer_id` 1..40 everywhere), so joins across domains find rows."""
    rng = random.Random(seed)
    written = []
    for relation in catalog.values():
        columns = {c.name: [_value(c, i, rng) for i in range(_ROWS)] for c in relation.columns}
        schema = pa.schema([(c.name, _arrow_type(c.sql_type)) for c in relation.columns])
        path = target / relation.schema / f"{relation.name}.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.table(columns, schema=schema), path)
        written.append(path)
    return written


def _arrow_type(sql_type: str) -> pa.DataType:
    return {
        "VARCHAR": pa.string(), "DOUBLE": pa.float64(), "BIGINT": pa.int64(), "DATE": pa.date32(),
        "TIMESTAMP": pa.timestamp("us"), "BOOLEAN": pa.bool_(), "VARCHAR[]": pa.list_(pa.string()),
    }[sql_type]  # fmt: skip


def _iban(rng: random.Random) -> str:
    country = rng.choice(["DE", "FR", "NL", "ES"])
    return f"{country}{rng.randint(10, 99)} " + " ".join(
        f"{rng.randint(0, 9999):04d}" for _ in range(4)
    )


_BY_NAME: list[tuple[str, Callable[[int, random.Random], Any]]] = [
    ("iban", lambda i, r: _iban(r)),
    ("email", lambda i, r: f"{_FIRST[i % 12].lower()}.{_LAST[i % 10].lower()}{i}@example.com"),
    ("phone", lambda i, r: f"+49 151 {r.randint(1000000, 9999999)}"),
    ("card_number", lambda i, r: f"4111 1111 1111 {r.randint(1000, 9999)}"),
    (
        "national_id",
        lambda i, r: f"{r.randint(10, 99)}{r.randint(100000, 999999)}X{r.randint(100, 999)}",
    ),
    (
        "social_security",
        lambda i, r: f"{r.randint(100, 999)}-{r.randint(10, 99)}-{r.randint(1000, 9999)}",
    ),
    ("first_name", lambda i, r: _FIRST[i % 12]),
    ("last_name", lambda i, r: _LAST[i % 10]),
    ("full_name", lambda i, r: f"{_FIRST[i % 12]} {_LAST[i % 10]}"),
    (
        "address",
        lambda i, r: (
            f"{r.randint(1, 200)} {r.choice(['Hauptstraße', 'Rue de Rivoli', 'Calle Mayor'])}"
        ),
    ),
    ("city", lambda i, r: _CITIES[i % 8]),
    ("country", lambda i, r: ["DE", "FR", "ES", "IT", "NL"][i % 5]),
    ("currency", lambda i, r: "EUR"),
    ("ip_address", lambda i, r: f"10.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}"),
]


def _value(column: SqlColumn, i: int, rng: random.Random) -> Any:
    name = column.name.lower()
    if column.sql_type == "VARCHAR":
        if name.endswith("_id") or name == "id":
            return f"{name.removesuffix('_id')[:3].upper()}-{i % _ROWS + 1:04d}"
        for fragment, make in _BY_NAME:
            if fragment in name:
                return make(i, rng)
        return f"{name.replace('_', ' ')} {rng.randint(1, 5)}"
    if column.sql_type == "DOUBLE":
        if "salary" in name or "pay" in name:
            return round(rng.uniform(38_000, 120_000), 2)
        return round(rng.uniform(1, 5_000), 2)
    if column.sql_type == "BIGINT":
        return rng.randint(1, 1000)
    if column.sql_type == "DATE":
        return dt.date(2024, 1, 1) + dt.timedelta(days=rng.randint(0, 700))
    if column.sql_type == "TIMESTAMP":
        return dt.datetime(2024, 1, 1) + dt.timedelta(minutes=rng.randint(0, 1_000_000))
    if column.sql_type == "BOOLEAN":
        return rng.random() < 0.6
    return [rng.choice(["sport", "travel", "books", "garden"])]
