"""The nightly flow: ingest what landed -> Beam windows -> SQL layer -> run report.

Reads like the run book. Each task does one thing and returns a small summary; the Beam run
is one task (task timeouts cannot interrupt it). Re-running a finished night changes nothing.
"""

from __future__ import annotations

import time
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from prefect import flow, task

from microradar import config as cfg
from microradar import ingest_plan, report, sql_layer
from microradar.warehouse import MANIFEST_SCHEMA, Warehouse
from pipelines import batch, landing
from schemas.datasets import EVENTS, PROFILE_DAILY
from schemas.datasets import REJECTED as REJECTED_DATASET
from pipelines.tables import split_by
from pipelines.transforms import write_parquet
from pipelines.batch import EPOCH
import pyarrow as pa


class ChangedLandingFiles(RuntimeError):
    pass


def progress(message: str) -> None:
    """A progress line on stdout: long steps say when they start and how long they took."""
    print(f"[{datetime.now(timezone.utc):%H:%M:%S}] {message}", flush=True)


def default_as_of(now: datetime) -> date:
    """The last complete UTC day."""
    return (now.astimezone(timezone.utc) - timedelta(days=1)).date()


def new_run_id(now: datetime) -> str:
    return now.strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]


@task(retries=2, retry_delay_seconds=5)
def plan_ingest(landing_dir: str, warehouse: Warehouse) -> ingest_plan.IngestPlan:
    """Lists the landing directory and compares it with the manifest (file system: retried)."""
    landed = landing.discover(Path(landing_dir))
    hashes = {f.relpath: landing.file_sha256(f.path) for f in landed}
    return ingest_plan.plan_ingest(landed, hashes, warehouse.read_manifest())


@task
def run_pipeline(job: batch.BatchJob) -> dict:
    """The Beam batch pipeline, staged under the run's staging directory."""
    return batch.run(job)


@task
def stage_sql_layer(warehouse: Warehouse, run_id: str, as_of: date, config: cfg.Config) -> int:
    """Computes profile_daily over the published datasets and stages it with a fresh analyst DB."""
    staging = warehouse.staging_dir(run_id)
    table = sql_layer.compute_profile_daily(warehouse, as_of, config)
    days = table["day"].cast(pa.int32()).to_numpy()
    for day, rows in split_by(table.drop_columns(["day"]), days):
        part = staging / PROFILE_DAILY.name / f"day={(EPOCH + timedelta(days=day)).isoformat()}"
        part.mkdir(parents=True, exist_ok=True)
        write_parquet(rows, part / f"part-{run_id}.parquet")
    return table.num_rows


@task
def stage_analyst_db(warehouse: Warehouse, run_id: str, as_of: date, config: cfg.Config) -> None:
    # Built against the published datasets; staged partitions are not visible yet, so it is built
    # after the data commit and renamed into place by the final commit.
    sql_layer.build_analyst_db(warehouse, warehouse.staging_dir(run_id) / "microradar.duckdb", as_of, config)


@flow(name="microradar-nightly", log_prints=True)
def nightly(
    landing_dir: str,
    warehouse_dir: str,
    as_of: date | None = None,
    allow_changed: bool = False,
    beam_args: list[str] | None = None,
    ingest_time: datetime | None = None,
    config: cfg.Config = cfg.DEFAULT,
) -> dict:
    """Ingest what landed, recompute the windows, refresh the SQL layer, leave a run report."""
    started = ingest_time or datetime.now(timezone.utc)
    as_of = as_of or default_as_of(started)
    run_id = new_run_id(datetime.now(timezone.utc))
    wh = Warehouse.at(warehouse_dir)
    durations: dict[str, float] = {}
    clock = time.perf_counter()

    with wh.lock():
        resumed = wh.resume_pending()
        if resumed:
            progress(f"finished the commit of interrupted run(s) {', '.join(resumed)}")
        plan = plan_ingest(landing_dir, wh)
        progress(f"landing: {len(plan.new)} new, {len(plan.changed)} changed, {plan.already_ingested} already ingested")
        if plan.changed and not allow_changed:
            names = ", ".join(f.relpath for f in plan.changed)
            raise ChangedLandingFiles(f"landed files changed after ingestion (use --allow-changed to re-read): {names}")
        to_read = plan.new + plan.changed
        state = wh.read_state()
        durations["plan"] = time.perf_counter() - clock

        line_stats: dict = {}
        data_stale = bool(to_read) or state.get("as_of") != as_of.isoformat()
        if data_stale:
            clock = time.perf_counter()
            ingest_us = int(started.timestamp() * 1_000_000)
            job = batch.BatchJob(
                new_files=to_read,
                stored_event_files=wh.partition_files(EVENTS),
                staging_dir=str(wh.staging_dir(run_id)),
                run_id=run_id,
                ingest_us=ingest_us,
                as_of=as_of,
                beam_args=list(beam_args or []),
            )
            progress(f"beam pipeline: reading {len(to_read)} files ...")
            line_stats = run_pipeline(job)
            durations["pipeline"] = time.perf_counter() - clock
            progress(f"beam pipeline: {line_stats['lines_read']:,} lines in {durations['pipeline']:.1f} s")
            clock = time.perf_counter()
            wh.keep_existing_files(run_id, REJECTED_DATASET)
            manifest = ingest_plan.updated_manifest(
                wh.read_manifest(), to_read, plan.hashes, run_id, ingest_us, MANIFEST_SCHEMA
            )
            wh.stage_manifest(run_id, manifest)
            state = {**state, "as_of": as_of.isoformat(), "data_run": run_id}
            wh.mark_ready(run_id, state)
            wh.commit(run_id)
            durations["commit_data"] = time.perf_counter() - clock

        if state.get("sql_run") != state.get("data_run"):
            clock = time.perf_counter()
            sql_run = run_id + "-sql"
            progress("sql layer: profile_daily, rising and suspicious flags ...")
            rows = stage_sql_layer(wh, sql_run, as_of, config)
            wh.mark_ready(sql_run, {**state, "sql_run": state.get("data_run")})
            wh.commit(sql_run)
            # The analyst DB must see the new profile_daily partitions: build it after their commit.
            stage_analyst_db(wh, sql_run + "-db", as_of, config)
            wh.mark_ready(sql_run + "-db", wh.read_state())
            wh.commit(sql_run + "-db")
            durations["sql"] = time.perf_counter() - clock
            progress(f"sql layer: {rows:,} profile-days in {durations['sql']:.1f} s")

    top = sql_layer.top_rising(wh, as_of, config.top_rising)
    run_report = {
        "run_id": run_id,
        "as_of": as_of.isoformat(),
        "started_at": started.isoformat(),
        "landing": str(Path(landing_dir).resolve()),
        "warehouse": str(wh.root),
        "resumed_runs": resumed,
        "files": {"new": len(plan.new), "changed": len(plan.changed), "already_ingested": plan.already_ingested},
        "recomputed": data_stale,
        "counts": report.accounting(line_stats),
        "durations_s": {k: round(v, 3) for k, v in durations.items()},
        "top_rising": top,
        "outputs": {
            "duckdb": str(wh.duckdb_path),
            **{name: str(wh.root / name) for name in ("events", "rejected", "engagement_daily",
                                                       "engagement_trailing", "profile_daily")},
        },
    }
    path = wh.write_json(f"runs/{run_id}.json", run_report)
    wh.write_json("last_run.json", run_report)
    run_report["report_path"] = str(path)
    return run_report
