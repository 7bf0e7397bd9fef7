"""The observation history counter bookings need (SPEC section 3), read from stored events.

A post's bookings depend on its whole observation history (its `post` event and every
`post_metrics` row), which spans dates a night does not otherwise touch. One DuckDB query reads
just those rows, and just the columns bookings use, from every stored `events` file, and unites
them with the night's candidates the way the merge will: a candidate replaces its stored copy
unless the lookup settled that the stored copy stays (`stored_wins`). The bookings themselves
are computed by the shared metric code (pipelines.engagement.counter_bookings), batch and stream.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pyarrow as pa

from schemas.datasets import EVENTS
from schemas.events import POST_COUNTERS
from schemas.units import US_PER_DAY
from storage.duck import connect

# The columns bookings read (pipelines.engagement.BOOKING_COLUMNS).
HISTORY_COLUMNS = [
    "platform",
    "profile_id",
    "post_id",
    "event_type",
    "event_time",
    "event_id",
    *POST_COUNTERS,
]
HISTORY_SCHEMA = pa.schema([EVENTS.data_schema.field(c) for c in HISTORY_COLUMNS])
_KIND_OF_TYPE = {"like": "likes", "comment": "comments", "share": "shares", "save": "saves"}


@dataclass(frozen=True)
class ObservationHistory:
    before: pa.Table  # the stored post and post_metrics rows (HISTORY_SCHEMA)
    after: pa.Table  # the same once the night's candidates are merged in


def _files_sql(files: list[str]) -> str:
    listed = "[" + ", ".join("'" + f.replace("'", "''") + "'" for f in files) + "]"
    # union_by_name: files written before contract v2 lack the counters (read as null)
    return f"read_parquet({listed}, union_by_name = true)"


def _select(files: list[str]) -> str:
    columns = ", ".join(HISTORY_COLUMNS)
    return f"select {columns} from {_files_sql(files)} where event_type in ('post', 'post_metrics')"


def observation_history(
    stored: dict[date, list[str]], candidate_files: list[str], stored_wins: pa.Table | None = None
) -> ObservationHistory:
    """The post and post_metrics rows before and after the night (see the module doc)."""
    stored_files = [f for files in stored.values() for f in files]
    con = connect()
    try:
        empty = (
            "select "
            + ", ".join(
                f"cast(null as {_duck(HISTORY_SCHEMA.field(c).type)}) as {c}" for c in HISTORY_COLUMNS
            )
            + " where false"
        )
        con.execute(f"create temp table stored_rows as {_select(stored_files) if stored_files else empty}")
        wins = stored_wins if stored_wins is not None and stored_wins.num_rows else None
        con.register(
            "wins",
            wins.select(["platform", "event_id"])
            if wins is not None
            else pa.table({"platform": pa.array([], pa.string()), "event_id": pa.array([], pa.string())}),
        )
        if candidate_files:
            con.execute(
                f"create temp table kept_keys as select platform, event_id from {_files_sql(candidate_files)} "
                "anti join wins using (platform, event_id)"
            )
            con.execute(
                f"create temp table candidate_rows as select * from ({_select(candidate_files)}) "
                "semi join kept_keys using (platform, event_id)"
            )
        else:
            con.execute("create temp table kept_keys as select platform, event_id from wins where false")
            con.execute("create temp table candidate_rows as select * from stored_rows where false")
        before = con.sql("select * from stored_rows").to_arrow_table()
        after = con.sql(
            "select * from candidate_rows union all "
            "select * from stored_rows anti join kept_keys using (platform, event_id)"
        ).to_arrow_table()
        return ObservationHistory(before.cast(HISTORY_SCHEMA), after.cast(HISTORY_SCHEMA))
    finally:
        con.close()


def interaction_days(stored: dict[date, list[str]], keys: pa.Table) -> set[int]:
    """Days (since 1970-01-01) of the stored interaction events on the (platform, profile_id,
    post_id, kind)s in `keys`: their count changes when the (post, kind) gains or loses a counter."""
    files = [f for fs in stored.values() for f in fs]
    if not files or keys.num_rows == 0:
        return set()
    kind = "case event_type " + " ".join(f"when '{t}' then '{k}'" for t, k in _KIND_OF_TYPE.items()) + " end"
    con = connect()
    try:
        con.register("countered", keys.select(["platform", "profile_id", "post_id", "kind"]))
        rows = con.execute(
            f"select distinct cast(epoch_us(event_time) // {US_PER_DAY} as integer) from "
            f"(select platform, profile_id, post_id, {kind} as kind, event_time from {_files_sql(files)} "
            f"where event_type in ({', '.join(repr(t) for t in _KIND_OF_TYPE)})) "
            "semi join countered using (platform, profile_id, post_id, kind)"
        ).fetchall()
        return {r[0] for r in rows}
    finally:
        con.close()


def _duck(t: pa.DataType) -> str:
    if pa.types.is_timestamp(t):
        return "TIMESTAMPTZ"
    return {"string": "VARCHAR", "int64": "BIGINT"}[str(t)]
