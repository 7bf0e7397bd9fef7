"""Backfill: recompute the windows ending in a date range, and the SQL layer, from stored `events`.

For a metric-code change or a repaired partition. It reads no landing files; the nightly
manifest and dedup state stay as they are.
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime

from prefect import flow

from flows.night import Night, NightPlan
from flows.plan_tasks import merge_job, plan_counters
from flows.progress import progress
from flows.sql_tasks import refresh_sql
from flows.tasks import compact
from pipelines import batch
from planning.nights import new_run_id
from schemas import config as cfg
from schemas.datasets import EVENTS
from schemas.units import horizon_start
from storage.lookup import STORED_WINS_SCHEMA
from storage.warehouse import Warehouse


class NothingToBackfill(ValueError):
    pass


@flow(name="microradar-backfill", log_prints=True)
def backfill(
    warehouse_dir: str,
    recompute_from: date,
    to_day: date,
    beam_args: list[str] | None = None,
    num_buckets: int | None = None,
    config: dict | None = None,
) -> dict:
    """Windows ending `recompute_from` .. `to_day` (capped at the warehouse's as-of) and the SQL layer
    from `recompute_from`. `config` as for the nightly flow: a dict of schemas/config.py settings."""
    settings = cfg.from_dict(config)
    wh = Warehouse.at(warehouse_dir)
    if recompute_from > to_day:
        raise NothingToBackfill(f"--from {recompute_from} is after --to {to_day}")
    with wh.lock():
        wh.resume_pending()
        state = wh.read_state()
        if not state.get("as_of"):
            raise NothingToBackfill(f"{wh.root} has no nightly run yet: run `microradar nightly` first")
        as_of = date.fromisoformat(state["as_of"])
        to_day = min(to_day, as_of)
        if recompute_from > to_day:
            raise NothingToBackfill(f"--from {recompute_from} is after the warehouse's as-of day {as_of}")
        night = Night(
            wh,
            "",
            new_run_id(datetime.now(UTC)) + "-backfill",
            to_day,
            datetime.now(UTC),
            beam_args=list(beam_args or []),
            num_buckets=num_buckets,
            config=settings,
        )
        stored, horizon = wh.files_by_partition(EVENTS), horizon_start(as_of, settings.history_horizon_days)
        bookings, _ = plan_counters(stored, [], STORED_WINS_SCHEMA.empty_table(), horizon)  # engine: counters
        plan = NightPlan(
            candidates=[],
            stored=stored,
            touched=set(),
            rewritten=set(),
            stored_wins=STORED_WINS_SCHEMA.empty_table(),
            recompute_from=recompute_from,
            windows_as_of=to_day,
            previous_as_of=None,
            bookings=bookings,
            horizon_start=horizon,
        )
        progress(f"beam windows: recomputing windows ending {recompute_from} .. {to_day} ...")
        batch.run_merge(merge_job(night, plan, recompute_from, daily_final_until=None))
        compact(night)
        wh.mark_ready(night.run_id, {**state, "data_run": night.run_id})
        wh.commit(night.run_id)
        seconds = time.perf_counter() - night.clock
        sql_seconds = refresh_sql(wh, night.run_id, as_of, recompute_from, settings)
    return {
        "run_id": night.run_id,
        "from": recompute_from.isoformat(),
        "to": to_day.isoformat(),
        "durations_s": {"windows": round(seconds, 3), "sql": round(sql_seconds, 3)},
    }
