"""The whole-history entity datasets `post_latest` and `profiles` (SPEC section 4), staged for a run.

One row per post / profile over every stored event, the night's candidates merged in the way
the merge keeps them (a candidate replaces its stored copy unless `stored_wins` says the stored
copy stays). DuckDB reads only the columns each needs. Partitioned by platform: a night rewrites
the partitions of the platforms its candidates touch (one file each, published atomically with
the run's other partitions); a full refresh writes every platform.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from schemas.datasets import POST_LATEST, PROFILES, Dataset
from schemas.events import POST_COUNTERS
from storage.duck import connect
from storage.parquet import write_parquet
from storage.warehouse import Warehouse

_ORDER = "(event_time, event_id)"


def _files(files: list[str]) -> str:
    listed = "[" + ", ".join("'" + f.replace("'", "''") + "'" for f in files) + "]"
    return f"read_parquet({listed}, union_by_name = true)"


def _merged(
    con,
    stored_files: list[str],
    candidate_files: list[str],
    stored_wins: pa.Table | None,
    columns: list[str],
    platforms: list[str],
) -> None:
    """Temp view `merged`: stored events and candidates (only `columns`, only `platforms`), one copy per event."""
    cols = ", ".join(columns)
    con.register("platforms", pa.table({"platform": pa.array(platforms, pa.string())}))
    wins = (
        stored_wins.select(["platform", "event_id"])
        if stored_wins is not None and stored_wins.num_rows
        else pa.table({"platform": pa.array([], pa.string()), "event_id": pa.array([], pa.string())})
    )
    con.register("wins", wins)
    con.execute(
        f"create temp table cand as select {cols} from {_files(candidate_files)} "
        "semi join platforms using (platform) anti join wins using (platform, event_id)"
    )
    if stored_files:
        con.execute(
            f"create temp view merged as select * from cand union all select {cols} from "
            f"{_files(stored_files)} semi join platforms using (platform) "
            "anti join cand using (platform, event_id)"
        )
    else:
        con.execute("create temp view merged as select * from cand")


def _post_latest_sql() -> str:
    counters = ", ".join(
        f"arg_max({k}, {_ORDER}) filter (where {k} is not null) as {k}" for k in POST_COUNTERS
    )
    return f"""
        with p as (
            select platform, post_id, arg_min(profile_id, {_ORDER}) as author, min(event_time) as published_at,
                arg_min(media_type, {_ORDER}) as media_type, arg_min(sponsored, {_ORDER}) as sponsored,
                arg_min(language, {_ORDER}) as language
            from merged where event_type = 'post' group by platform, post_id
        ), m as (
            select platform, post_id, arg_max(profile_id, {_ORDER}) as observer, {counters},
                max(event_time) as observed_at, count(*) as observations
            from merged where event_type = 'post_metrics' group by platform, post_id
        )
        select platform, post_id, coalesce(p.author, m.observer) as profile_id, p.published_at, p.media_type,
            p.sponsored, p.language, {", ".join(f"m.{k}" for k in POST_COUNTERS)}, m.observed_at,
            coalesce(m.observations, 0) as observations
        from p full join m using (platform, post_id)
    """


def _profiles_sql() -> str:
    latest = ", ".join(
        f"arg_max({c}, {_ORDER}) filter (where event_type = 'profile_snapshot' and {c} is not null) as {c}"
        for c in ("handle", "display_name", "country", "language")
    )
    return f"""
        select platform, profile_id, {latest}, min(event_time) as first_seen, max(event_time) as last_seen
        from merged group by platform, profile_id
    """


_QUERIES = {
    POST_LATEST.name: (
        [
            "platform",
            "profile_id",
            "post_id",
            "event_type",
            "event_time",
            "event_id",
            "media_type",
            "sponsored",
            "language",
            *POST_COUNTERS,
        ],
        _post_latest_sql,
    ),
    PROFILES.name: (
        [
            "platform",
            "profile_id",
            "event_type",
            "event_time",
            "event_id",
            "handle",
            "display_name",
            "country",
            "language",
        ],
        _profiles_sql,
    ),
}


def entity_table(
    dataset: Dataset,
    stored: dict[date, list[str]],
    candidate_files: list[str],
    stored_wins: pa.Table | None,
    platforms: list[str],
) -> pa.Table:
    """`dataset`'s rows (with its `platform` partition column) for `platforms`."""
    columns, sql = _QUERIES[dataset.name]
    con = connect()
    try:
        _merged(
            con, [f for fs in stored.values() for f in fs], candidate_files, stored_wins, columns, platforms
        )
        table = con.sql(sql()).to_arrow_table()
    finally:
        con.close()
    body = table.select(dataset.schema.names).cast(dataset.data_schema)
    return body.append_column("platform", table["platform"].cast(pa.string()))


def candidate_platforms(candidate_files: list[str]) -> list[str]:
    if not candidate_files:
        return []
    con = connect()
    try:
        return sorted(
            r[0] for r in con.execute(f"select distinct platform from {_files(candidate_files)}").fetchall()
        )
    finally:
        con.close()


def stage_entities(
    wh: Warehouse,
    run_id: str,
    stored: dict[date, list[str]],
    candidate_files: list[str],
    stored_wins: pa.Table | None,
) -> dict[str, int]:
    """Stages post_latest and profiles for the platforms the candidates touch, one file per
    platform partition, with each column's doc. Returns rows staged per dataset."""
    platforms = candidate_platforms(candidate_files)
    staged = {}
    for dataset in (POST_LATEST, PROFILES):
        table = entity_table(dataset, stored, candidate_files, stored_wins, platforms) if platforms else None
        staged[dataset.name] = 0 if table is None else table.num_rows
        for platform in platforms if table is not None else []:
            rows = table.filter(pc.equal(table["platform"], platform))
            if rows.num_rows == 0:
                continue
            part = Path(wh.staging_dir(run_id), dataset.name, f"{dataset.partition}={platform}")
            part.mkdir(parents=True, exist_ok=True)
            rows = rows.sort_by([(c, "ascending") for c in dataset.schema.names[:2]])
            write_parquet(
                pa.Table.from_arrays(rows.select(dataset.schema.names).columns, schema=dataset.schema),
                part / f"part-{run_id}.parquet",
            )
    return staged
