"""A PostgreSQL-wire SQL gateway over DuckDB that asks the engine about every query it runs."""
