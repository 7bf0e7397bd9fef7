"""The SQL layer's refresh after a data commit: `profile_daily` staged and committed, then a fresh
analyst database (microradar.duckdb) over a snapshot of the published files.

Each is its own commit, recorded in the warehouse state (`sql_run`, `db_run`), so a night killed
between them is finished by the next one. The backfill flow shares `refresh_sql`.
"""

from __future__ import annotations

import time
from datetime import date

from prefect import task

from flows.night import Night, timed
from flows.progress import progress
from schemas import config as cfg
from schemas.datasets import PROFILE_DAILY
from schemas.units import day_date
from storage import faults, sql_layer
from storage.warehouse import Warehouse


@task
def stage_sql_layer(
    warehouse: Warehouse, run_id: str, as_of: date, recompute_from: date | None, config: cfg.Config
) -> int:
    """Computes profile_daily over the published datasets and stages the partitions from
    `recompute_from` on (every day if None): only the days a run can have changed."""
    table = sql_layer.compute_profile_daily(warehouse, as_of, config, recompute_from=recompute_from)
    return warehouse.stage_partitions(run_id, PROFILE_DAILY, table, day_date)


@task
def stage_analyst_db(warehouse: Warehouse, run_id: str, as_of: date, config: cfg.Config) -> None:
    """A fresh microradar.duckdb, renamed into place by the commit (readers keep the old file open).
    Its dataset views read a snapshot of the published files taken now (Warehouse.snapshot), so a
    session sees one night across datasets: between the next data commit and the next SQL commit,
    the views still read this night's files, not a new engagement_daily beside an old profile_daily."""
    warehouse.snapshot(run_id)
    sql_layer.build_analyst_db(
        warehouse, warehouse.staging_dir(run_id) / "microradar.duckdb", as_of, config, snapshot=run_id
    )


def refresh_sql(
    wh: Warehouse,
    run_id: str,
    as_of: date,
    recompute_from: date | None,
    config: cfg.Config,
    replace: bool = False,
) -> float:
    """SQL layer: stage and commit profile_daily, then the analyst database. Returns seconds."""
    clock = time.perf_counter()
    progress("sql layer: profile_daily, rising and suspicious flags ...")
    sql_run = run_id + "-sql"
    rows = stage_sql_layer(wh, sql_run, as_of, recompute_from, config)
    faults.point("sql_staged")
    state = wh.read_state()
    state["sql_run"] = state.get("data_run")
    state["db_run"] = None  # until the analyst database of this data is committed (refresh_analyst_db)
    wh.mark_ready(sql_run, state, replace_datasets=replace)
    wh.commit(sql_run)
    refresh_analyst_db(wh, sql_run, as_of, config)
    seconds = time.perf_counter() - clock
    progress(f"sql layer: {rows:,} profile-days written in {seconds:.1f} s")
    return seconds


def refresh_analyst_db(wh: Warehouse, sql_run: str, as_of: date, config: cfg.Config) -> None:
    """Stages and commits the analyst database of the committed data; the state records it."""
    stage_analyst_db(wh, sql_run + "-db", as_of, config)
    faults.point("db_staged")
    state = wh.read_state()
    previous = state.get("snapshot")
    state["db_run"] = state.get("data_run")
    state["snapshot"] = sql_run + "-db"
    wh.mark_ready(sql_run + "-db", state)
    wh.commit(sql_run + "-db")
    wh.prune_snapshots({sql_run + "-db", previous})


@task
@timed("sql")
def refresh_sql_if_due(night: Night, recompute_from: date | None) -> bool:
    """The SQL layer, when the data committed since its last refresh (a refresh that never
    committed, even a killed night's, is redone in full)."""
    state = night.wh.read_state()
    if state.get("data_run") and state.get("sql_run") == state["data_run"] and state.get("db_run", 0) is None:
        # A run stopped between the SQL commit and the analyst database's: only the latter is redone.
        refresh_analyst_db(night.wh, night.run_id + "-sql", date.fromisoformat(state["as_of"]), night.config)
        return True
    if not state.get("data_run") or state.get("sql_run") == state.get("data_run"):
        return False
    faults.point("before_sql")
    refresh_sql(
        night.wh,
        night.run_id,
        date.fromisoformat(state["as_of"]),
        None if night.full_refresh else recompute_from,
        night.config,
        replace=night.full_refresh,
    )
    return True
