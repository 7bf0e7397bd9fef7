"""Planning a night against what is stored: which dates it rewrites, where its windows start, the
counter bookings (SPEC section 3) over the posts' whole history, and the job of Beam pipeline 2.

The decisions are planning/'s (pure); these steps list the stored files and stage what the
pipeline reads. The backfill flow shares `plan_counters` and `merge_job`.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow as pa
from prefect import task

from flows.night import Landed, Night, NightPlan, timed
from pipelines import batch, engagement
from planning import nights
from schemas.datasets import ENGAGEMENT_DAILY, EVENTS
from schemas.units import day_date, day_number, horizon_start, window_start
from storage import counters, lookup


@task
@timed("lookup")
def plan_night(night: Night, landed: Landed) -> NightPlan:
    """The key lookup against stored events, then which dates to rewrite and windows to recompute."""
    candidates = batch.candidate_files(night.staging)
    stored = {} if night.full_refresh else night.wh.files_by_partition(EVENTS)
    previous = date.fromisoformat(landed.state["as_of"]) if landed.state.get("as_of") else None
    windows_as_of = max(night.as_of, previous or night.as_of)
    horizon = horizon_start(windows_as_of, night.config.history_horizon_days)
    found = lookup.touched_event_dates(stored, candidates, horizon)
    bookings, rebooked = plan_counters(stored, candidates, found.stored_wins, horizon)
    touched = found.dates | rebooked
    return NightPlan(
        candidates=candidates,
        stored=stored,
        touched=touched,
        rewritten=found.rewritten,
        stored_wins=found.stored_wins,
        recompute_from=nights.plan_recompute_from(touched, previous, night.as_of),
        windows_as_of=windows_as_of,
        previous_as_of=previous,
        bookings=bookings,
        horizon_start=horizon,
    )


def plan_counters(
    stored: dict[date, list[str]], candidates: list[str], stored_wins: pa.Table, horizon: date
) -> tuple[pa.Table, set[date]]:
    """Counter bookings (SPEC section 3) after the night, over the posts' whole observation
    history, and the dates whose engagement they change: re-booked days, and the days of the
    events of a (post, kind) that gained its first counter (those no longer count)."""
    history = counters.observation_history(stored, candidates, stored_wins)
    if history.after.num_rows == 0:
        return engagement.BOOKING_SCHEMA.empty_table(), set()
    before = engagement.counter_bookings(history.before, day_number(horizon))
    after = engagement.counter_bookings(history.after, day_number(horizon))
    changes = nights.booking_changes(before, after)
    days = changes.days | counters.interaction_days(stored, changes.countered)
    return after, {day_date(d) for d in days if d >= day_number(horizon)}


def merge_job(
    night: Night, plan: NightPlan, recompute_from: date, daily_final_until: date | None
) -> batch.MergeJob:
    """Pipeline 2's job: the planned files, the stored-wins keys staged, buckets by what is read.
    Without a bucket count, it follows the bytes read (zstd Parquet holds ~4x the events of as
    many bytes of JSON)."""
    recompute_from = max(
        recompute_from, plan.horizon_start or recompute_from
    )  # no window ends before the horizon
    stored_daily = night.wh.files_by_partition(ENGAGEMENT_DAILY) if daily_final_until is not None else {}
    files = nights.plan_merge_files(
        plan.stored,
        stored_daily,
        plan.touched,
        plan.rewritten,
        recompute_from,
        plan.windows_as_of,
        daily_final_until,
    )
    stored_wins_file = night.wh.stage_table(night.run_id, batch.STORED_WINS, plan.stored_wins)
    computed_from = max(window_start(recompute_from), plan.horizon_start or window_start(recompute_from))
    bookings_file = night.wh.stage_table(
        night.run_id,
        batch.BOOKINGS,
        nights.bookings_for_days(
            plan.bookings,
            day_number(computed_from),
            day_number(plan.windows_as_of),
            {day_number(d) for d in files.final_days},
        ),
    )
    num_buckets = night.num_buckets or batch.buckets_for(
        4 * sum(Path(f).stat().st_size for f in files.touched_event_files + files.context_event_files),
        night.beam_args,
    )
    return batch.MergeJob(
        candidate_files=plan.candidates,
        touched_event_files=files.touched_event_files,
        context_event_files=files.context_event_files,
        staging_dir=night.staging,
        run_id=night.run_id,
        as_of=plan.windows_as_of,
        recompute_from=recompute_from,
        num_buckets=num_buckets,
        beam_args=night.beam_args,
        context_daily_files=files.context_daily_files,
        context_engager_files=files.context_engager_files,
        appended_dates=files.appended_dates,
        stored_wins_file=stored_wins_file,
        bookings_file=bookings_file,
        horizon_start=plan.horizon_start,
        stored_days_before_horizon=[
            d for d in sorted(plan.stored) if plan.horizon_start and d < plan.horizon_start
        ],
    )
