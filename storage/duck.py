"""The one place the project opens DuckDB: every session in UTC (casts to DATE follow the session zone)."""

from __future__ import annotations

import glob
from pathlib import Path

import duckdb


def connect(
    path: str | Path = ":memory:", read_only: bool = False, config: dict | None = None
) -> duckdb.DuckDBPyConnection:
    """`config`: DuckDB settings that must be given at open time (a sandboxed session's)."""
    con = duckdb.connect(str(path), read_only=read_only, config=config or {})
    con.execute("SET TimeZone='UTC'")
    return con


def literal(path: str | Path) -> str:
    """`path` as DuckDB reads it literally: DuckDB expands `*`, `?` and `[...]` in every file path it
    is given (in a list too), so a warehouse below a folder named `nights[1]` would match nothing.
    Each such character becomes a one-character class (`[[]`, `[*]`, `[?]`)."""
    return glob.escape(str(path))
