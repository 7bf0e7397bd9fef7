"""The night's core steps, in order: finish what a killed run left, ingest (Beam pipeline 1),
compute the windows (Beam pipeline 2), publish atomically; and the clean-up of a failed run.

The other steps are beside them: landing_tasks.py (what landed), plan_tasks.py (what to rewrite
and recompute), sql_tasks.py (the SQL layer), report_tasks.py (checks and reports). Each step is
a Prefect task that does one thing and returns a small summary. A Beam run is one task, and task
timeouts cannot interrupt it (PLATFORM.md).
"""

from __future__ import annotations

import json
import shutil
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from prefect import task

from flows import run_report
from flows.night import Landed, Night, NightPlan, timed
from flows.plan_tasks import merge_job
from flows.progress import progress  # long steps say when they start and end; the CLI hooks it
from pipelines import batch
from schemas.datasets import BEAM_DATASETS, EVENTS, REJECTED
from schemas.units import to_us
from storage import compaction, entities, faults, manifest
from storage.warehouse import MANIFEST_SCHEMA


@contextmanager
def cleaned_on_failure(night: Night):
    """A failed run removes what it staged, unless it got to READY (the next run finishes that
    commit): a failure never leaves `_staging` filling the disk until the next run (#19 item 9)."""
    try:
        yield
    except BaseException:
        removed = night.wh.discard_unready([night.run_id, f"{night.run_id}-sql", f"{night.run_id}-sql-db"])
        if removed:
            progress(f"failed run: removed its staging {', '.join(removed)}")
        raise


@task
@timed("resume")
def resume_pending(night: Night) -> dict[str, dict]:
    """Finishes the commits a killed run had started; discards what never got to READY. Returns each
    finished run's figures (its line counts and files, kept with its READY marker)."""
    resumed = night.wh.resume_pending_with_figures()
    if resumed:
        progress(f"finished the commit of interrupted run(s) {', '.join(resumed)}")
    return resumed


@task
@timed("ingest")
def ingest(night: Night, landed: Landed) -> dict | None:
    """Beam pipeline 1: parse, dead-letter, deduplicate the new lines, stage candidates."""
    if not landed.to_read:
        return None
    progress(f"beam ingest: reading {len(landed.to_read)} files ...")
    stats = batch.run_ingest(
        batch.IngestJob(
            landed.to_read,
            night.staging,
            night.run_id,
            night.ingest_us,
            night.num_buckets,
            night.beam_args,
            to_us(night.config.min_event_time),
        )
    )
    progress(f"beam ingest: {stats['lines']['lines_read']:,} lines")
    faults.point("after_ingest")
    return stats


@task
@timed("windows")
def compute_windows(night: Night, plan: NightPlan) -> tuple[batch.MergeJob, dict] | None:
    """Beam pipeline 2: deduplicate against stored events, write touched dates, recompute windows."""
    if not plan.candidates and plan.recompute_from is None:
        return None
    recompute_from = plan.recompute_from or plan.windows_as_of + timedelta(days=1)
    recompute_from = max(
        recompute_from, plan.horizon_start or recompute_from
    )  # no window ends before the horizon
    job = merge_job(night, plan, recompute_from, daily_final_until=plan.previous_as_of)
    progress(
        f"beam windows: {len(plan.touched)} event dates touched, "
        f"windows from {recompute_from} to {plan.windows_as_of} ..."
    )
    stats = batch.run_merge(job)
    faults.point("after_windows")
    return job, stats


@task
@timed("commit")
def publish(night: Night, landed: Landed, plan: NightPlan, job: batch.MergeJob) -> None:
    """Stages the manifest and state beside the data, marks the run READY, swaps it in atomically."""
    entities.stage_entities(night.wh, night.run_id, plan.stored, plan.candidates, plan.stored_wins)  # engine
    shutil.rmtree(Path(night.staging, batch.CANDIDATES), ignore_errors=True)
    if night.full_refresh:  # a rebuild replaces whole datasets: an empty one must replace too
        for dataset in BEAM_DATASETS:
            Path(night.staging, dataset.name).mkdir(parents=True, exist_ok=True)
    else:
        night.wh.keep_existing_files(night.run_id, REJECTED)
        night.wh.keep_existing_files(
            night.run_id, EVENTS, job.appended_dates
        )  # the run's new events join them
        compaction.stage_fragmented(night.wh, night.run_id, BEAM_DATASETS, night.config.target_file_bytes)
    compact(night)
    night.wh.stage_manifest(
        night.run_id,
        manifest.updated_manifest(
            landed.manifest,
            landed.to_read,
            landed.plan.hashes,
            night.run_id,
            night.ingest_us,
            MANIFEST_SCHEMA,
        ),
    )
    state = {**landed.state, "as_of": plan.windows_as_of.isoformat(), "data_run": night.run_id}
    night.wh.mark_ready(
        night.run_id, state, replace_datasets=night.full_refresh, figures=commit_figures(night, landed, plan)
    )
    faults.point("before_commit")
    night.wh.commit(night.run_id)


def compact(night: Night) -> compaction.Compacted:
    """Merges the files of each partition the run staged (storage.compaction), before READY."""
    done = compaction.compact_staged(night.wh, night.run_id, BEAM_DATASETS, night.config.target_file_bytes)
    if done.partitions:
        progress(
            f"compaction: {done.files_before:,} files in {done.partitions:,} partitions "
            f"merged into {done.files_after:,}"
        )
    return done


def commit_figures(night: Night, landed: Landed, plan: NightPlan) -> dict:
    """What the run report says of this run's data, kept with its READY marker: a run killed after
    it is finished by the next one, whose report then carries these figures (#19 item 8)."""
    stats = {}
    for name in (batch.INGEST_STATS, batch.MERGE_STATS):
        path = Path(night.staging, name)
        stats[name] = json.loads(path.read_text()) if path.exists() else None
    counts = batch.run_report_counts(stats[batch.INGEST_STATS], stats[batch.MERGE_STATS], plan.stored_wins)
    return {
        "as_of": night.as_of.isoformat(),
        "started_at": night.started.isoformat(),
        "files": {"new": len(landed.plan.new), "changed": len(landed.plan.changed)},
        "counts": run_report.accounting(counts),
        "touched_event_dates": sorted(d.isoformat() for d in plan.touched),
    }
