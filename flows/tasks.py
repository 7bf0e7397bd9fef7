"""The Prefect tasks the flows are made of. Each does one thing and returns a small summary.

Retries only where the outside world is touched (listing and hashing the landing directory);
a Beam run is one task, and task timeouts cannot interrupt it (PLATFORM.md).
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa
from prefect import task

from microradar import config as cfg
from microradar import ingest_plan, sql_layer
from microradar.progress import progress  # long steps say when they start and how long they took; the CLI hooks it
from microradar.warehouse import Warehouse
from pipelines import batch, landing
from pipelines.tables import split_by
from pipelines.transforms import write_parquet
from schemas.datasets import PROFILE_DAILY


@task(retries=2, retry_delay_seconds=5)
def plan_ingest(landing_dir: str, manifest: pa.Table, rehash: bool = False) -> ingest_plan.IngestPlan:
    """Lists the landing directory and compares it with the manifest (file system: retried). Files
    the manifest saw with the same size and modification time keep their recorded hash, unless
    `rehash`: the others are read and hashed, so a night reads the new files, not the history."""
    landed = landing.discover(Path(landing_dir))
    hashes = {} if rehash else ingest_plan.recorded_hashes(landed, manifest)
    hashes |= {f.relpath: landing.file_sha256(f.path) for f in landed if f.relpath not in hashes}
    return ingest_plan.plan_ingest(landed, hashes, manifest)


@task
def ingest_pipeline(job: batch.IngestJob) -> dict:
    """Beam pipeline 1: parse, dead-letter, deduplicate new lines, stage candidates."""
    return batch.run_ingest(job)


@task
def merge_pipeline(job: batch.MergeJob) -> dict:
    """Beam pipeline 2: deduplicate against stored events, write touched dates, recompute windows."""
    return batch.run_merge(job)


@task
def stage_sql_layer(warehouse: Warehouse, run_id: str, as_of: date, from_day: date | None,
                    config: cfg.Config) -> int:
    """Computes profile_daily over the published datasets and stages the partitions from `from_day`
    on (every day if None): only the days a run can have changed are computed and written."""
    table = sql_layer.compute_profile_daily(warehouse, as_of, config, compute_from=from_day)
    days = table["day"].cast(pa.int32()).to_numpy()
    written = 0
    for day, rows in split_by(table.drop_columns(["day"]), days):
        part = warehouse.staging_dir(run_id) / PROFILE_DAILY.name / f"day={batch.EPOCH + timedelta(days=day)}"
        part.mkdir(parents=True, exist_ok=True)
        write_parquet(rows, part / f"part-{run_id}.parquet")
        written += rows.num_rows
    return written


@task
def stage_analyst_db(warehouse: Warehouse, run_id: str, as_of: date, config: cfg.Config) -> None:
    """A fresh microradar.duckdb, renamed into place by the commit (readers keep the old file open)."""
    sql_layer.build_analyst_db(warehouse, warehouse.staging_dir(run_id) / "microradar.duckdb", as_of, config)


def refresh_sql(wh: Warehouse, run_id: str, as_of: date, from_day: date | None, config: cfg.Config,
                replace: bool = False) -> float:
    """SQL layer: stage and commit profile_daily, then the analyst database. Returns seconds."""
    import time

    clock = time.perf_counter()
    progress("sql layer: profile_daily, rising and suspicious flags ...")
    sql_run = run_id + "-sql"
    rows = stage_sql_layer(wh, sql_run, as_of, from_day, config)
    state = wh.read_state()
    state["sql_run"] = state.get("data_run")
    wh.mark_ready(sql_run, state, replace_datasets=replace)
    wh.commit(sql_run)
    stage_analyst_db(wh, sql_run + "-db", as_of, config)
    wh.mark_ready(sql_run + "-db", wh.read_state())
    wh.commit(sql_run + "-db")
    seconds = time.perf_counter() - clock
    progress(f"sql layer: {rows:,} profile-days written in {seconds:.1f} s")
    return seconds
