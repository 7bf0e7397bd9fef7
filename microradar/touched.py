"""Which stored dates a night must rewrite, and which windows it must recompute.

`touched_event_dates` is the one key lookup that reads across the whole history: the
`(platform, event_id)` columns of `events`, to find stored copies of this night's candidates
(a conflicting copy may sit on another day). DuckDB reads just those two columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from microradar.warehouse import Warehouse
from schemas.datasets import EVENTS


@dataclass(frozen=True)
class TouchedDates:
    dates: set[date]  # every event_date whose events the night changes: its windows are recomputed
    # Dates holding a stored copy of a candidate's key, and those candidates' dates: deduplicated
    # again and rewritten. On the other dates every candidate is a new event: the run adds a file.
    with_stored_copies: set[date]


def _glob_list(files: list[str]) -> str:
    return "[" + ", ".join("'" + f.replace("'", "''") + "'" for f in files) + "]"


def touched_event_dates(wh: Warehouse | None, candidate_files: list[str]) -> TouchedDates:
    """event_date of every candidate, and of every stored copy of a candidate's key (none when wh is None)."""
    if not candidate_files:
        return TouchedDates(set(), set())
    import duckdb

    con = duckdb.connect()
    try:
        con.execute("SET TimeZone='UTC'")
        con.execute(
            f"create temp table candidates as select platform, event_id, cast(event_time as date) as event_date "
            f"from read_parquet({_glob_list(candidate_files)})"
        )
        dates = {r[0] for r in con.execute("select distinct event_date from candidates").fetchall()}
        stored = wh.partition_files(EVENTS) if wh is not None else []
        copies: set[date] = set()
        if stored:
            rows = con.execute(
                f"select distinct s.event_date, c.event_date from read_parquet({_glob_list(stored)}, "
                f"hive_partitioning = true, hive_types = {{'event_date': DATE}}) as s inner join candidates as c "
                f"on s.platform = c.platform and s.event_id = c.event_id"
            ).fetchall()
            copies = {d for pair in rows for d in pair}
        return TouchedDates(dates | copies, copies)
    finally:
        con.close()


def first_window_end(touched: set[date], previous_as_of: date | None, as_of: date) -> date | None:
    """The first window end day to recompute: the earliest touched day, or the day after the last
    run's as-of (windows keep ending after a profile's last event). None: nothing to recompute."""
    starts = [d for d in touched if d <= as_of]
    if previous_as_of is None:
        starts += [as_of] if not starts else []
    elif previous_as_of < as_of:
        starts.append(previous_as_of + timedelta(days=1))
    return min(starts) if starts else None
