"""Everything the radar report shows, read from the warehouse with the queries of `queries.sql`.

Each figure on the page comes from one named query. The query is run exactly as the page shows
it (its parameters filled in as SQL literals), so an analyst can paste it into
`microradar query --warehouse DIR "..."` or a DuckDB session on `microradar.duckdb` and get the
same numbers. The run's health also reads `_meta/last_run.json`, the nightly flow's run report.
"""

from __future__ import annotations

import json
import re
import textwrap
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from importlib import resources
from pathlib import Path

import duckdb

from schemas import config as cfg
from storage import sql_layer
from storage.warehouse import Warehouse

DEFAULT_WEEKS = 8
MOVEMENT_DAYS = 28  # tier movements: the net move over the four weeks ending on the report's day

_NAME = re.compile(r"^-- name: (\w+)\s*$", re.MULTILINE)
_PARAM = re.compile(r"\$(\w+)")
_INLINE = re.compile(r"^( *)\{\{ (\w+) \}\}$", re.MULTILINE)


def load_queries() -> dict[str, str]:
    """The named queries of queries.sql: name -> SQL (its comment lines included, no trailing `;`),
    each `{{ name }}` line replaced by that query's text."""
    text = resources.files("report").joinpath("queries.sql").read_text()
    parts = _NAME.split(text)
    queries = {}
    for name, body in zip(parts[1::2], parts[2::2]):
        queries[name] = body.strip().rstrip(";").strip()
    return {name: _inline(sql, queries) for name, sql in queries.items()}


def _inline(sql: str, queries: dict[str, str]) -> str:
    """`sql` with each `{{ name }}` line replaced by query `name` (itself inlined), indented as the
    line was: a query another one reads as a CTE is written once, and what runs is shown whole."""
    return _INLINE.sub(lambda m: textwrap.indent(_inline(queries[m.group(2)], queries), m.group(1)), sql)


QUERIES = load_queries()


def sql_literal(value) -> str:
    """A Python value as a DuckDB literal."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):
        raise TypeError("no timestamps as parameters")
    if isinstance(value, date):
        return f"DATE '{value.isoformat()}'"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise TypeError(f"no SQL literal for {type(value).__name__}")


def render_sql(name: str, params: dict) -> str:
    """Query `name` with its `$parameters` replaced by literals: what runs, and what the page shows."""
    sql = QUERIES[name]
    missing = set(_PARAM.findall(sql)) - params.keys()
    if missing:
        raise KeyError(f"query {name} needs {sorted(missing)}")
    return _PARAM.sub(lambda m: sql_literal(params[m.group(1)]), sql)


def open_warehouse(warehouse_dir: Path) -> duckdb.DuckDBPyConnection:
    """An in-memory UTC session with the warehouse's dataset views (storage.sql_layer's own).

    Nothing is written: the views only read the published Parquet files."""
    con = sql_layer.connect()
    sql_layer.create_dataset_views(con, Warehouse.at(warehouse_dir))
    return con


class NoDataForDay(LookupError):
    """The day asked for is outside the days profile_daily holds."""


@dataclass
class RunQuery:
    """One query as it ran: shown in the page's "how to reproduce" blocks."""

    name: str
    title: str
    sql: str


@dataclass
class ReportData:
    warehouse: Path
    day: date | None
    since: date | None  # first day of the charts
    weeks: int
    movement_since: date | None
    overview: dict = field(default_factory=dict)
    top: list[dict] = field(default_factory=list)
    series: dict[tuple[str, str], list[dict]] = field(default_factory=dict)
    movements: list[dict] = field(default_factory=list)
    movement_counts: list[dict] = field(default_factory=list)
    tier_mix: list[dict] = field(default_factory=list)
    freshness: dict = field(default_factory=dict)
    rejects: list[dict] = field(default_factory=list)
    run: dict | None = None  # the last run report (_meta/last_run.json), None when there is none
    queries: list[RunQuery] = field(default_factory=list)


class _Runner:
    def __init__(self, con: duckdb.DuckDBPyConnection, params: dict, log: list[RunQuery]):
        self.con, self.params, self.log = con, params, log

    def rows(self, name: str, title: str) -> list[dict]:
        sql = render_sql(name, self.params)
        self.log.append(RunQuery(name, title, sql))
        cursor = self.con.execute(sql)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]


def read_last_run(warehouse_dir: Path) -> dict | None:
    path = Path(warehouse_dir) / "_meta" / "last_run.json"
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def gather(
    warehouse_dir: Path,
    day: date | None = None,
    weeks: int = DEFAULT_WEEKS,
    limit: int = cfg.DEFAULT.top_rising,
) -> ReportData:
    """Every figure of the report for `day` (default: the latest day of profile_daily)."""
    warehouse_dir = Path(warehouse_dir).resolve()
    con = open_warehouse(warehouse_dir)
    try:
        return gather_from(con, warehouse_dir, read_last_run(warehouse_dir), day, weeks, limit)
    finally:
        con.close()


def gather_from(
    con: duckdb.DuckDBPyConnection,
    warehouse_dir: Path,
    run: dict | None,
    day: date | None = None,
    weeks: int = DEFAULT_WEEKS,
    limit: int = cfg.DEFAULT.top_rising,
) -> ReportData:
    """`gather` on a connection that names profile_daily, engagement_daily, events and rejected
    (the warehouse's Parquet views, or fixture tables in tests)."""
    log: list[RunQuery] = []
    span = _Runner(con, {}, log).rows("latest_day", "The report's day: the latest day in profile_daily")[0]
    if day is None:
        day = span["day"]
    elif span["day"] is None or not span["first_day"] <= day <= span["day"]:
        raise NoDataForDay(
            f"no profiles on {day}: profile_daily holds "
            + (f"{span['first_day']} .. {span['day']}" if span["day"] else "no day yet")
        )
    if day is None:  # nothing computed yet
        return ReportData(warehouse_dir, None, None, weeks, None, run=run, queries=log)
    since = day - timedelta(days=7 * weeks - 1)
    movement_since = day - timedelta(days=MOVEMENT_DAYS)
    params = {"day": day, "since": since, "limit": limit, "run_id": (run or {}).get("run_id")}
    q = _Runner(con, params, log)
    data = ReportData(warehouse_dir, day, since, weeks, movement_since, run=run, queries=log)
    data.overview = q.rows("overview", "Headline numbers of the day")[0]
    data.top = q.rows("top_rising", "Top rising micro influencers")
    for row in q.rows(
        "growth_series", f"Growth charts: followers and interactions per day over {weeks} weeks"
    ):
        data.series.setdefault((row["platform"], row["profile_id"]), []).append(row)
    q.params = {**params, "since": movement_since}
    data.movements = q.rows("tier_movements", "Tier movements over four weeks: the profiles")
    data.movement_counts = q.rows("tier_movement_counts", "Tier movements over four weeks: counts by move")
    q.params = params
    data.tier_mix = q.rows("tier_mix", "Profiles per tier on the day")
    data.freshness = q.rows("freshness", "Freshness: latest event day against the report's day")[0]
    data.rejects = q.rows("rejects_by_reason", "Rejected lines by reason")
    return data
