"""The one place the project opens DuckDB: every session in UTC (casts to DATE follow the session zone)."""

from __future__ import annotations

from pathlib import Path

import duckdb


def connect(path: str | Path = ":memory:", read_only: bool = False) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(path), read_only=read_only)
    con.execute("SET TimeZone='UTC'")
    return con
