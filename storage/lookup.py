"""Which stored dates a night must rewrite, and which windows it must recompute.

`touched_event_dates` is the one key lookup that reads across the whole history: the
`(platform, event_id)` columns of `events`, to find stored copies of this night's candidates
(a conflicting copy may sit on another day). DuckDB reads just those two columns, then the
dedup order of the few dates holding a copy, to settle which copy is kept: ingest.dedup's
SORT_KEYS, where the most complete copy wins. Completeness (fields_set) is not stored; it is
computed here from the nullable payload columns with dedup.fields_set_sql, exactly as dedup
computes it in flight. Those dates' files are read with union_by_name, so a file written before
contract v2 (no v2 columns) counts them as unset, as pyarrow does when it reads it back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import pyarrow as pa

from ingest.dedup import FIELDS_SET, SORT_KEYS, fields_set_sql
from schemas.units import filed_day
from storage.duck import connect, literal

# Candidates whose stored copy stays kept: (platform, event_id, conflicting: payloads differ).
STORED_WINS_SCHEMA = pa.schema(
    [("platform", pa.string()), ("event_id", pa.string()), ("conflicting", pa.bool_())]
)


@dataclass(frozen=True)
class TouchedDates:
    dates: set[date]  # every event_date whose events the night changes: its windows are recomputed
    # Dates where a candidate replaces its stored copy (the copy's date and the candidate's):
    # deduplicated again and rewritten. On the other dates the night only adds new events.
    rewritten: set[date] = field(default_factory=set)
    # Candidates whose stored copy is kept (ingest.dedup's order): they change nothing.
    stored_wins: pa.Table = field(default_factory=STORED_WINS_SCHEMA.empty_table)


def _glob_list(files: list[str]) -> str:
    """An SQL list of the files, each read literally (never as a pattern)."""
    return "[" + ", ".join("'" + literal(f).replace("'", "''") + "'" for f in files) + "]"


def _sorts_before(a: str, b: str) -> str:
    """SQL: row `a` comes first in the dedup order (after the key): `a` is the copy kept."""
    keys = SORT_KEYS[2:]

    def before(name, direction):
        return f"{a}.{name} {'<' if direction == 'ascending' else '>'} {b}.{name}"

    clause = before(*keys[-1])
    for name, direction in reversed(keys[:-1]):
        clause = f"({before(name, direction)} or ({a}.{name} = {b}.{name} and {clause}))"
    return clause


def _file_candidates(con, horizon: date | None, stored_days: frozenset[date]) -> None:
    """Candidates' event_date -> the partition they are filed under (as the merge writes them)."""
    days = [r[0] for r in con.execute("select distinct event_date from candidates").fetchall()]
    moved = {d: filed_day(d, horizon, stored_days) for d in days}
    moved = {d: f for d, f in moved.items() if f != d}
    if moved:
        con.register("filed", pa.table({"day": list(moved), "filed": list(moved.values())}))
        con.execute(
            "update candidates set event_date = filed.filed from filed where candidates.event_date = filed.day"
        )
        con.unregister("filed")


def touched_event_dates(
    stored: dict[date, list[str]], candidate_files: list[str], horizon: date | None = None
) -> TouchedDates:
    """The `events` partitions this night's candidates change, given the stored files by
    partition date (Warehouse.files_by_partition; empty for a rebuild). A candidate's partition
    is its UTC day, or the first day of its year before the history `horizon` (units.filed_day)."""
    if not candidate_files:
        return TouchedDates(set())
    order = ", ".join(name for name, _ in SORT_KEYS[3:])  # after the key and fields_set
    con = connect()
    try:
        if not stored:  # nothing to look up (a first night, a rebuild): the dates alone, streamed
            days = con.execute(
                f"select distinct cast(event_time as date) from read_parquet({_glob_list(candidate_files)})"
            ).fetchall()
            return TouchedDates({filed_day(d, horizon, frozenset()) for (d,) in days})
        con.execute(
            f"create temp table candidates as select platform, event_id, {fields_set_sql('c')} as {FIELDS_SET}, {order}, "
            f"cast(event_time as date) as event_date from read_parquet({_glob_list(candidate_files)}) as c"
        )
        _file_candidates(con, horizon, frozenset(stored))
        copy_dates = set()
        if stored:
            copy_dates = {
                r[0]
                for r in con.execute(
                    f"select distinct s.event_date from read_parquet({_glob_list([f for fs in stored.values() for f in fs])}, "
                    f"hive_partitioning = true, hive_types = {{'event_date': DATE}}) as s semi join candidates as c "
                    f"on s.platform = c.platform and s.event_id = c.event_id"
                ).fetchall()
            }
        if not copy_dates:
            dates = {r[0] for r in con.execute("select distinct event_date from candidates").fetchall()}
            return TouchedDates(dates)
        copy_files = (
            f"read_parquet({_glob_list([f for d in sorted(copy_dates) for f in stored[d]])}, "
            f"hive_partitioning = true, union_by_name = true, hive_types = {{'event_date': DATE}})"
        )
        present = {r[0] for r in con.execute(f"describe select * from {copy_files}").fetchall()}
        con.execute(
            f"create temp table copies as select c.platform, c.event_id, c.event_date as candidate_date, "
            f"s.event_date as stored_date, {_sorts_before('c', 's')} as candidate_wins, "
            f"c.payload_hash <> s.payload_hash as conflicting "
            f"from (select platform, event_id, event_date, {fields_set_sql('r', present)} as {FIELDS_SET}, {order} "
            f"from {copy_files} as r) "
            f"as s inner join candidates as c "
            f"on s.platform = c.platform and s.event_id = c.event_id"
        )
        rewritten = {
            d
            for pair in con.execute(
                "select distinct candidate_date, stored_date from copies where candidate_wins"
            ).fetchall()
            for d in pair
        }
        dates = {
            r[0]
            for r in con.execute(
                "select distinct event_date from candidates anti join (select * from copies where not candidate_wins) "
                "as lost using (platform, event_id)"
            ).fetchall()
        }
        stored_wins = con.sql(
            "select platform, event_id, conflicting from copies where not candidate_wins"
        ).to_arrow_table()
        return TouchedDates(dates | rewritten, rewritten, stored_wins.cast(STORED_WINS_SCHEMA))
    finally:
        con.close()
