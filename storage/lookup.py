"""Which stored dates a night must rewrite, and which windows it must recompute.

`touched_event_dates` is the one key lookup that reads across the whole history: the
`(platform, event_id)` columns of `events`, to find stored copies of this night's candidates
(a conflicting copy may sit on another day). DuckDB reads just those two columns, then the
dedup order columns of the few dates holding a copy, to settle which copy is kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import pyarrow as pa

from ingest.dedup import SORT_KEYS
from storage.duck import connect

# Candidates whose stored copy stays kept: (platform, event_id, conflicting: payloads differ).
STORED_WINS_SCHEMA = pa.schema([("platform", pa.string()), ("event_id", pa.string()), ("conflicting", pa.bool_())])


@dataclass(frozen=True)
class TouchedDates:
    dates: set[date]  # every event_date whose events the night changes: its windows are recomputed
    # Dates where a candidate replaces its stored copy (the copy's date and the candidate's):
    # deduplicated again and rewritten. On the other dates the night only adds new events.
    rewritten: set[date] = field(default_factory=set)
    # Candidates whose stored copy is kept (ingest.dedup's order): they change nothing.
    stored_wins: pa.Table = field(default_factory=STORED_WINS_SCHEMA.empty_table)


def _glob_list(files: list[str]) -> str:
    return "[" + ", ".join("'" + f.replace("'", "''") + "'" for f in files) + "]"


def _sorts_before(a: str, b: str) -> str:
    """SQL: row `a` comes first in the dedup order (after the key): `a` is the copy kept."""
    names = [name for name, _ in SORT_KEYS[2:]]
    clause = f"{a}.{names[-1]} < {b}.{names[-1]}"
    for name in reversed(names[:-1]):
        clause = f"({a}.{name} < {b}.{name} or ({a}.{name} = {b}.{name} and {clause}))"
    return clause


def touched_event_dates(stored: dict[date, list[str]], candidate_files: list[str]) -> TouchedDates:
    """The dates this night's candidates change, given the stored `events` files by date
    (Warehouse.files_by_partition; empty for a rebuild)."""
    if not candidate_files:
        return TouchedDates(set())
    order = ", ".join(name for name, _ in SORT_KEYS[2:])
    con = connect()
    try:
        con.execute(
            f"create temp table candidates as select platform, event_id, {order}, "
            f"cast(event_time as date) as event_date from read_parquet({_glob_list(candidate_files)})"
        )
        copy_dates = set()
        if stored:
            copy_dates = {r[0] for r in con.execute(
                f"select distinct s.event_date from read_parquet({_glob_list([f for fs in stored.values() for f in fs])}, "
                f"hive_partitioning = true, hive_types = {{'event_date': DATE}}) as s semi join candidates as c "
                f"on s.platform = c.platform and s.event_id = c.event_id"
            ).fetchall()}
        if not copy_dates:
            dates = {r[0] for r in con.execute("select distinct event_date from candidates").fetchall()}
            return TouchedDates(dates)
        con.execute(
            f"create temp table copies as select c.platform, c.event_id, c.event_date as candidate_date, "
            f"s.event_date as stored_date, {_sorts_before('c', 's')} as candidate_wins, "
            f"c.payload_hash <> s.payload_hash as conflicting "
            f"from read_parquet({_glob_list([f for d in sorted(copy_dates) for f in stored[d]])}, "
            f"hive_partitioning = true, hive_types = {{'event_date': DATE}}) as s inner join candidates as c "
            f"on s.platform = c.platform and s.event_id = c.event_id"
        )
        rewritten = {d for pair in con.execute(
            "select distinct candidate_date, stored_date from copies where candidate_wins").fetchall() for d in pair}
        dates = {r[0] for r in con.execute(
            "select distinct event_date from candidates anti join (select * from copies where not candidate_wins) "
            "as lost using (platform, event_id)").fetchall()}
        stored_wins = con.sql("select platform, event_id, conflicting from copies where not candidate_wins").to_arrow_table()
        return TouchedDates(dates | rewritten, rewritten, stored_wins.cast(STORED_WINS_SCHEMA))
    finally:
        con.close()
