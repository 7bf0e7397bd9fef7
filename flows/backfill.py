"""Backfill: recompute the windows ending in a date range, and the SQL layer, from stored `events`.

For a metric-code change or a repaired partition. It reads no landing files; the nightly
manifest and dedup state stay as they are.
"""

from __future__ import annotations

import time
from datetime import date, datetime, timezone

from prefect import flow

from flows.nightly import merge_job_for, new_run_id
from flows.tasks import merge_pipeline, progress, refresh_sql
from schemas import config as cfg
from storage.warehouse import Warehouse


class NothingToBackfill(ValueError):
    pass


@flow(name="microradar-backfill", log_prints=True)
def backfill(warehouse_dir: str, from_day: date, to_day: date, beam_args: list[str] | None = None,
             num_buckets: int | None = None, config: cfg.Config = cfg.DEFAULT) -> dict:
    wh = Warehouse.at(warehouse_dir)
    run_id = new_run_id(datetime.now(timezone.utc)) + "-backfill"
    if from_day > to_day:
        raise NothingToBackfill(f"--from {from_day} is after --to {to_day}")
    with wh.lock():
        wh.resume_pending()
        state = wh.read_state()
        if not state.get("as_of"):
            raise NothingToBackfill(f"{wh.root} has no nightly run yet: run `microradar nightly` first")
        as_of = date.fromisoformat(state["as_of"])
        to_day = min(to_day, as_of)
        if from_day > to_day:
            raise NothingToBackfill(f"--from {from_day} is after the warehouse's as-of day {as_of}")
        clock = time.perf_counter()
        progress(f"beam windows: recomputing windows ending {from_day} .. {to_day} ...")
        job = merge_job_for(wh, run_id, [], set(), from_day, to_day, num_buckets, list(beam_args or []),
                            rewritten=set())
        merge_pipeline(job)
        seconds = time.perf_counter() - clock
        wh.mark_ready(run_id, {**state, "data_run": run_id})
        wh.commit(run_id)
        progress(f"beam windows: done in {seconds:.1f} s")
        sql_seconds = refresh_sql(wh, run_id, as_of, from_day, config)
    return {"run_id": run_id, "from": from_day.isoformat(), "to": to_day.isoformat(),
            "durations_s": {"windows": round(seconds, 3), "sql": round(sql_seconds, 3)}}
