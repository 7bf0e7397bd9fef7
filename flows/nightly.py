"""The nightly flow: ingest what landed -> Beam windows -> SQL layer -> run report.

Reads like the run book. A night reads the new files, rewrites only the `events` dates they
touch and the windows ending from the earliest touched day to the as-of day, and commits
atomically. Re-running a finished night changes nothing; a killed night is finished or
discarded by the next one.
"""

from __future__ import annotations

import shutil
import time
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from prefect import flow

from flows.tasks import ingest_pipeline, merge_pipeline, plan_ingest, progress, refresh_sql
from microradar import config as cfg
from microradar import faults, report, sql_layer
from microradar.touched import first_window_end, touched_event_dates, with_crowded_dates
from microradar.warehouse import MANIFEST_SCHEMA, STREAM_FILE_PREFIX, Warehouse
from microradar import ingest_plan
from pipelines import batch, parse
from schemas.datasets import BEAM_DATASETS, ENGAGEMENT_DAILY, EVENTS, REJECTED


class ChangedLandingFiles(RuntimeError):
    pass


def default_as_of(now: datetime) -> date:
    """The last complete UTC day."""
    return (now.astimezone(timezone.utc) - timedelta(days=1)).date()


def new_run_id(now: datetime) -> str:
    return now.strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]


def merge_job_for(wh: Warehouse, run_id: str, candidates: list[str], touched: set[date], first_end: date,
                  windows_as_of: date, num_buckets: int | None, beam_args: list[str], *,
                  rewritten: set[date], stored=None, daily_final_until: date | None = None,
                  stored_wins: pa.Table | None = None) -> batch.MergeJob:
    """Which stored files pipeline 2 reads, by date:

    - touched and in `rewritten`: its events, deduplicated again with the candidates and rewritten;
    - touched, not rewritten: its events as window context only (every candidate there is new); the
      partition keeps its files beside the run's (`appended_dates`);
    - untouched, from 27 days before `first_end` to `windows_as_of`: its stored daily rows and its
      events' distinct engagers when the day is final (up to `daily_final_until`, the last run's
      as-of, and not rewritten by the stream, which keeps the first copy of an event rather than
      the nightly's); otherwise its events.

    Candidates in `stored_wins` (their stored copy stays) are left out. `stored` is the events
    files by date (listed here when None). Without `num_buckets`, the bucket count follows what
    is read (zstd Parquet holds ~4x the events of as many bytes of JSON)."""
    stored = wh.files_by_partition(EVENTS) if stored is None else stored
    rewritten = touched & rewritten
    context_start = first_end - timedelta(days=27)
    touched_files = [f for d in sorted(rewritten) for f in stored.get(d, [])]
    appended = [d for d in sorted(touched - rewritten) if stored.get(d)]
    context_days = [d for d in sorted(stored) if context_start <= d <= windows_as_of and d not in rewritten]
    stored_daily = wh.files_by_partition(ENGAGEMENT_DAILY) if daily_final_until is not None else {}
    final = [d for d in context_days if daily_final_until is not None and d <= daily_final_until and d not in touched
             and d in stored_daily and not any(Path(f).name.startswith(STREAM_FILE_PREFIX) for f in stored_daily[d])]
    context_files = [f for d in context_days if d not in final for f in stored[d]]
    stored_wins_file = None
    if stored_wins is not None and stored_wins.num_rows:
        stored_wins_file = str(wh.staging_dir(run_id) / batch.STORED_WINS)
        wh.staging_dir(run_id).mkdir(parents=True, exist_ok=True)
        pq.write_table(stored_wins, stored_wins_file)
    if num_buckets is None:
        num_buckets = batch.buckets_for(4 * sum(Path(f).stat().st_size for f in touched_files + context_files))
    return batch.MergeJob(
        candidate_files=candidates,
        touched_event_files=touched_files,
        context_event_files=context_files,
        staging_dir=str(wh.staging_dir(run_id)),
        run_id=run_id,
        as_of=windows_as_of,
        first_end_day=first_end,
        num_buckets=num_buckets,
        beam_args=beam_args,
        context_daily_files=[f for d in final for f in stored_daily[d]],
        context_engager_files=[f for d in final for f in stored[d]],
        appended_dates=appended,
        stored_wins_file=stored_wins_file,
    )


@flow(name="microradar-nightly", log_prints=True)
def nightly(
    landing_dir: str,
    warehouse_dir: str,
    as_of: date | None = None,
    allow_changed: bool = False,
    full_refresh: bool = False,
    beam_args: list[str] | None = None,
    ingest_time: datetime | None = None,
    num_buckets: int | None = None,
    config: cfg.Config = cfg.DEFAULT,
    rehash: bool = False,
) -> dict:
    """Ingest what landed, recompute the touched windows, refresh the SQL layer, leave a run report."""
    body_clock = time.perf_counter()
    started = ingest_time or datetime.now(timezone.utc)
    as_of = as_of or default_as_of(started)
    run_id = new_run_id(datetime.now(timezone.utc))
    wh = Warehouse.at(warehouse_dir)
    beam_args = list(beam_args or [])
    durations: dict[str, float] = {}
    touched: set[date] = set()
    first_end = None
    counts: dict = {}

    with wh.lock():
        resumed = wh.resume_pending()
        if resumed:
            progress(f"finished the commit of interrupted run(s) {', '.join(resumed)}")
        state = {} if full_refresh else wh.read_state()
        manifest = MANIFEST_SCHEMA.empty_table() if full_refresh else wh.read_manifest()

        clock = time.perf_counter()
        plan = plan_ingest(landing_dir, manifest, rehash)
        progress(f"landing: {len(plan.new)} new, {len(plan.changed)} changed, {plan.already_ingested} already ingested")
        if plan.changed and not allow_changed:
            names = ", ".join(f.relpath for f in plan.changed)
            raise ChangedLandingFiles(f"landed files changed after ingestion (use --allow-changed to re-read): {names}")
        to_read = plan.new + plan.changed
        # Unless told, the bucket count follows the night's input, so a bucket's memory does not.
        num_buckets = num_buckets or batch.buckets_for(sum(f.size for f in to_read))
        durations["plan"] = time.perf_counter() - clock
        staging = str(wh.staging_dir(run_id))
        ingest_us = int(started.timestamp() * 1_000_000)

        ingest_stats = None
        if to_read:
            clock = time.perf_counter()
            progress(f"beam ingest: reading {len(to_read)} files ...")
            ingest_stats = ingest_pipeline(batch.IngestJob(to_read, staging, run_id, ingest_us, num_buckets, beam_args,
                                                             parse.datetime_us(config.min_event_time)))
            durations["ingest"] = time.perf_counter() - clock
            progress(f"beam ingest: {ingest_stats['lines']['lines_read']:,} lines in {durations['ingest']:.1f} s")
            faults.point("after_ingest")

        candidates = batch.candidate_files(staging)
        clock = time.perf_counter()
        stored = {} if full_refresh else wh.files_by_partition(EVENTS)  # listed once: lookup and merge
        lookup = touched_event_dates(stored, candidates)
        durations["lookup"] = time.perf_counter() - clock
        touched = lookup.dates
        rewritten = with_crowded_dates(lookup, stored)
        previous_as_of = date.fromisoformat(state["as_of"]) if state.get("as_of") else None
        first_end = first_window_end(touched, previous_as_of, as_of)
        windows_as_of = max(as_of, previous_as_of or as_of)

        merge_stats = None
        if candidates or first_end is not None:
            clock = time.perf_counter()
            first_end = first_end or windows_as_of + timedelta(days=1)
            job = merge_job_for(wh, run_id, candidates, touched, first_end, windows_as_of, num_buckets, beam_args,
                                stored=stored, daily_final_until=previous_as_of,
                                rewritten=rewritten, stored_wins=lookup.stored_wins)
            progress(f"beam windows: {len(touched)} event dates touched, windows from {first_end} to {windows_as_of} ...")
            merge_stats = merge_pipeline(job)
            durations["windows"] = time.perf_counter() - clock
            progress(f"beam windows: done in {durations['windows']:.1f} s")
            faults.point("after_windows")

            clock = time.perf_counter()
            shutil.rmtree(Path(staging, batch.CANDIDATES), ignore_errors=True)
            if full_refresh:  # a rebuild replaces whole datasets: an empty one must replace too
                for dataset in BEAM_DATASETS:
                    Path(staging, dataset.name).mkdir(parents=True, exist_ok=True)
            else:
                wh.keep_existing_files(run_id, REJECTED)
                wh.keep_existing_files(run_id, EVENTS, job.appended_dates)  # the run's new events join them
            new_manifest = ingest_plan.updated_manifest(manifest, to_read, plan.hashes, run_id, ingest_us,
                                                        MANIFEST_SCHEMA)
            wh.stage_manifest(run_id, new_manifest)
            state = {**state, "as_of": windows_as_of.isoformat(), "data_run": run_id}
            wh.mark_ready(run_id, state, replace_datasets=full_refresh)
            faults.point("before_commit")
            wh.commit(run_id)
            durations["commit"] = time.perf_counter() - clock
        counts = report.accounting(batch.run_report_counts(ingest_stats, merge_stats, lookup.stored_wins))

        state = wh.read_state()
        if state.get("data_run") and state.get("sql_run") != state.get("data_run"):
            # A previous SQL refresh that never committed is redone in full.
            sql_from = first_end if merge_stats is not None and not full_refresh else None
            faults.point("before_sql")
            durations["sql"] = refresh_sql(wh, run_id, date.fromisoformat(state["as_of"]), sql_from, config,
                                           replace=full_refresh)

    top = sql_layer.top_rising(wh, as_of, config.top_rising)
    durations["total"] = time.perf_counter() - body_clock  # the flow's own work, without Prefect's
    run_report = {
        "run_id": run_id,
        "as_of": as_of.isoformat(),
        "started_at": started.isoformat(),
        "landing": str(Path(landing_dir).resolve()),
        "warehouse": str(wh.root),
        "full_refresh": full_refresh,
        "resumed_runs": resumed,
        "files": {"new": len(plan.new), "changed": len(plan.changed), "already_ingested": plan.already_ingested},
        "recomputed": merge_stats is not None,
        "touched_event_dates": sorted(d.isoformat() for d in touched),
        "event_dates_rewritten": sorted(d.isoformat() for d in rewritten) if merge_stats else [],
        "windows_recomputed_from": first_end.isoformat() if merge_stats is not None else None,
        "counts": counts,
        "durations_s": {k: round(v, 3) for k, v in durations.items()},
        "top_rising": top,
        "outputs": {"duckdb": str(wh.duckdb_path),
                    **{name: str(wh.root / name) for name in ("events", "rejected", "engagement_daily",
                                                               "engagement_trailing", "profile_daily")}},
    }
    path = wh.write_json(f"runs/{run_id}.json", run_report)
    wh.write_json("last_run.json", run_report)
    run_report["report_path"] = str(path)
    return run_report
