"""The steps the flows are made of: Prefect tasks that each do one thing and return a small summary.

Retries only where the outside world is touched (listing and hashing the landing directory);
a Beam run is one task, and task timeouts cannot interrupt it (PLATFORM.md). Every step records
its wall time in the night's `durations` under one name, for the run report.
"""

from __future__ import annotations

import functools
import json
import shutil
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pyarrow as pa
from prefect import task

from flows import run_report
from ingest import landing
from pipelines import batch
from planning import checks, nights
from schemas import config as cfg
from schemas.datasets import BEAM_DATASETS, ENGAGEMENT_DAILY, EVENTS, PROFILE_DAILY, REJECTED
from schemas.units import day_date, to_us
from storage import faults, lookup, manifest, sql_layer
from storage.warehouse import MANIFEST_SCHEMA, Warehouse


class ChangedLandingFiles(RuntimeError):
    pass


class UnreadableLandingFile(OSError):
    """A landed file vanished or could not be read while it was hashed: the message names it."""


class NightWarnings(RuntimeError):
    """The night committed and wrote its report, but warned, and `checks.fail_on_warning` is set."""

    def __init__(self, report: dict):
        self.report = report
        super().__init__("; ".join(w["message"] for w in report["warnings"]) + f" (run report: {report['report_path']})")


def progress(message: str) -> None:
    """A progress line on stdout: long steps say when they start and how long they took."""
    print(f"[{datetime.now(timezone.utc):%H:%M:%S}] {message}", flush=True)


@dataclass
class Night:
    """One run: what it was asked, and what its steps found (each step fills its part)."""

    wh: Warehouse
    landing_dir: str
    run_id: str
    as_of: date
    started: datetime  # the ingest moment: `future_event` and `ingest_date` follow it
    full_refresh: bool = False
    beam_args: list[str] = field(default_factory=list)
    num_buckets: int | None = None  # None: follows the input's size
    config: cfg.Config = cfg.DEFAULT
    durations: dict[str, float] = field(default_factory=dict)
    clock: float = field(default_factory=time.perf_counter)

    @property
    def staging(self) -> str:
        return str(self.wh.staging_dir(self.run_id))

    @property
    def ingest_us(self) -> int:
        return to_us(self.started)


def timed(step: str):
    """Records the wrapped step's wall time in `night.durations[step]` (its first argument)."""

    def wrap(fn):
        @functools.wraps(fn)
        def run(night: Night, *args, **kwargs):
            clock = time.perf_counter()
            try:
                return fn(night, *args, **kwargs)
            finally:
                night.durations[step] = time.perf_counter() - clock

        return run

    return wrap


@dataclass(frozen=True)
class Landed:
    plan: manifest.IngestPlan
    manifest: pa.Table  # what earlier runs read (empty for a full refresh)
    state: dict  # the warehouse state before the run

    @property
    def to_read(self) -> list[landing.LandedFile]:
        return self.plan.new + self.plan.changed


@dataclass(frozen=True)
class NightPlan:
    candidates: list[str]
    stored: dict[date, list[str]]  # published events files by date, listed once
    touched: set[date]
    rewritten: set[date]
    stored_wins: pa.Table
    recompute_from: date | None  # None: nothing to recompute
    windows_as_of: date  # the warehouse's as-of after the run: never moves back
    previous_as_of: date | None


@task
@timed("resume")
def resume_pending(night: Night) -> list[str]:
    """Finishes the commits a killed run had started; discards what never got to READY."""
    resumed = night.wh.resume_pending()
    if resumed:
        progress(f"finished the commit of interrupted run(s) {', '.join(resumed)}")
    return resumed


@task(retries=2, retry_delay_seconds=5)
def scan_landing(landing_dir: str, seen: pa.Table, rehash: bool = False) -> manifest.IngestPlan:
    """Lists the landing directory and compares it with the manifest (file system: retried). Files
    the manifest saw with the same size and modification time keep their recorded hash, unless
    `rehash`: the others are read and hashed, so a night reads the new files, not the history."""
    landed = landing.discover(Path(landing_dir))
    hashes = {} if rehash else manifest.recorded_hashes(landed, seen)
    hashes |= {f.relpath: _sha256(f) for f in landed if f.relpath not in hashes}
    return manifest.plan_ingest(landed, hashes, seen)


def _sha256(f: landing.LandedFile) -> str:
    try:
        return landing.file_sha256(f.path)
    except OSError as exc:
        raise UnreadableLandingFile(f"cannot hash landed file {f.path}: {exc.strerror or exc}") from exc


@timed("plan")
def find_landed(night: Night, rehash: bool = False, allow_changed: bool = False) -> Landed:
    """What landed since the manifest: new files are read; changed ones refused unless allowed."""
    state = {} if night.full_refresh else night.wh.read_state()
    seen = MANIFEST_SCHEMA.empty_table() if night.full_refresh else night.wh.read_manifest()
    plan = scan_landing(night.landing_dir, seen, rehash)
    progress(f"landing: {len(plan.new)} new, {len(plan.changed)} changed, {plan.already_ingested} already ingested")
    if plan.changed and not allow_changed:
        names = ", ".join(f.relpath for f in plan.changed)
        raise ChangedLandingFiles(f"landed files changed after ingestion (use --allow-changed to re-read): {names}")
    # Unless told, the bucket count follows the night's input, so a bucket's memory does not.
    night.num_buckets = night.num_buckets or batch.buckets_for(sum(f.size for f in plan.new + plan.changed))
    return Landed(plan, seen, state)


@task
@timed("ingest")
def ingest(night: Night, landed: Landed) -> dict | None:
    """Beam pipeline 1: parse, dead-letter, deduplicate the new lines, stage candidates."""
    if not landed.to_read:
        return None
    progress(f"beam ingest: reading {len(landed.to_read)} files ...")
    stats = batch.run_ingest(batch.IngestJob(landed.to_read, night.staging, night.run_id, night.ingest_us,
                                             night.num_buckets, night.beam_args,
                                             to_us(night.config.min_event_time)))
    progress(f"beam ingest: {stats['lines']['lines_read']:,} lines")
    faults.point("after_ingest")
    return stats


@task
@timed("lookup")
def plan_night(night: Night, landed: Landed) -> NightPlan:
    """The key lookup against stored events, then which dates to rewrite and windows to recompute."""
    candidates = batch.candidate_files(night.staging)
    stored = {} if night.full_refresh else night.wh.files_by_partition(EVENTS)
    found = lookup.touched_event_dates(stored, candidates)
    previous = date.fromisoformat(landed.state["as_of"]) if landed.state.get("as_of") else None
    return NightPlan(
        candidates=candidates,
        stored=stored,
        touched=found.dates,
        rewritten=nights.with_crowded_dates(found.dates, found.rewritten, stored),
        stored_wins=found.stored_wins,
        recompute_from=nights.plan_recompute_from(found.dates, previous, night.as_of),
        windows_as_of=max(night.as_of, previous or night.as_of),
        previous_as_of=previous,
    )


def merge_job(night: Night, plan: NightPlan, recompute_from: date, daily_final_until: date | None) -> batch.MergeJob:
    """Pipeline 2's job: the planned files, the stored-wins keys staged, buckets by what is read.
    Without a bucket count, it follows the bytes read (zstd Parquet holds ~4x the events of as
    many bytes of JSON)."""
    stored_daily = night.wh.files_by_partition(ENGAGEMENT_DAILY) if daily_final_until is not None else {}
    files = nights.plan_merge_files(plan.stored, stored_daily, plan.touched, plan.rewritten, recompute_from,
                                    plan.windows_as_of, daily_final_until)
    stored_wins_file = night.wh.stage_table(night.run_id, batch.STORED_WINS, plan.stored_wins)
    num_buckets = night.num_buckets or batch.buckets_for(
        4 * sum(Path(f).stat().st_size for f in files.touched_event_files + files.context_event_files))
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
    )


@task
@timed("windows")
def compute_windows(night: Night, plan: NightPlan) -> tuple[batch.MergeJob, dict] | None:
    """Beam pipeline 2: deduplicate against stored events, write touched dates, recompute windows."""
    if not plan.candidates and plan.recompute_from is None:
        return None
    recompute_from = plan.recompute_from or plan.windows_as_of + timedelta(days=1)
    job = merge_job(night, plan, recompute_from, daily_final_until=plan.previous_as_of)
    progress(f"beam windows: {len(plan.touched)} event dates touched, "
             f"windows from {recompute_from} to {plan.windows_as_of} ...")
    stats = batch.run_merge(job)
    faults.point("after_windows")
    return job, stats


@task
@timed("commit")
def publish(night: Night, landed: Landed, plan: NightPlan, job: batch.MergeJob) -> None:
    """Stages the manifest and state beside the data, marks the run READY, swaps it in atomically."""
    shutil.rmtree(Path(night.staging, batch.CANDIDATES), ignore_errors=True)
    if night.full_refresh:  # a rebuild replaces whole datasets: an empty one must replace too
        for dataset in BEAM_DATASETS:
            Path(night.staging, dataset.name).mkdir(parents=True, exist_ok=True)
    else:
        night.wh.keep_existing_files(night.run_id, REJECTED)
        night.wh.keep_existing_files(night.run_id, EVENTS, job.appended_dates)  # the run's new events join them
    night.wh.stage_manifest(night.run_id, manifest.updated_manifest(
        landed.manifest, landed.to_read, landed.plan.hashes, night.run_id, night.ingest_us, MANIFEST_SCHEMA))
    state = {**landed.state, "as_of": plan.windows_as_of.isoformat(), "data_run": night.run_id}
    night.wh.mark_ready(night.run_id, state, replace_datasets=night.full_refresh)
    faults.point("before_commit")
    night.wh.commit(night.run_id)


@task
def stage_sql_layer(warehouse: Warehouse, run_id: str, as_of: date, recompute_from: date | None,
                    config: cfg.Config) -> int:
    """Computes profile_daily over the published datasets and stages the partitions from
    `recompute_from` on (every day if None): only the days a run can have changed."""
    table = sql_layer.compute_profile_daily(warehouse, as_of, config, recompute_from=recompute_from)
    return warehouse.stage_partitions(run_id, PROFILE_DAILY, table, day_date)


@task
def stage_analyst_db(warehouse: Warehouse, run_id: str, as_of: date, config: cfg.Config) -> None:
    """A fresh microradar.duckdb, renamed into place by the commit (readers keep the old file open)."""
    sql_layer.build_analyst_db(warehouse, warehouse.staging_dir(run_id) / "microradar.duckdb", as_of, config)


def refresh_sql(wh: Warehouse, run_id: str, as_of: date, recompute_from: date | None, config: cfg.Config,
                replace: bool = False) -> float:
    """SQL layer: stage and commit profile_daily, then the analyst database. Returns seconds."""
    clock = time.perf_counter()
    progress("sql layer: profile_daily, rising and suspicious flags ...")
    sql_run = run_id + "-sql"
    rows = stage_sql_layer(wh, sql_run, as_of, recompute_from, config)
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


@task
@timed("sql")
def refresh_sql_if_due(night: Night, recompute_from: date | None) -> bool:
    """The SQL layer, when the data committed since its last refresh (a refresh that never
    committed, even a killed night's, is redone in full)."""
    state = night.wh.read_state()
    if not state.get("data_run") or state.get("sql_run") == state.get("data_run"):
        return False
    faults.point("before_sql")
    refresh_sql(night.wh, night.run_id, date.fromisoformat(state["as_of"]),
                None if night.full_refresh else recompute_from, night.config, replace=night.full_refresh)
    return True


def read_run_reports(wh: Warehouse) -> list[dict]:
    """Earlier run reports (`_meta/runs/*.json`); one that cannot be read is left out."""
    reports = []
    for path in sorted((wh.meta / "runs").glob("*.json")):
        try:
            reports.append(json.loads(path.read_text()))
        except (OSError, ValueError):
            continue
    return reports


@task
def check_freshness(night: Night, landed: Landed, ingested: dict | None) -> dict:
    """Freshness and volume checks against the last nights' run reports: warnings, printed."""
    settings = night.config.checks
    previous = checks.recent_nights(read_run_reports(night.wh), settings.volume_nights, night.run_id)
    lines_read = ingested["lines"]["lines_read"] if ingested else 0
    warnings = checks.freshness_and_volume(len(landed.to_read), lines_read, previous, settings.max_volume_drop,
                                           str(Path(night.landing_dir).resolve()))
    for w in warnings:
        progress(f"WARNING ({w['check']}): {w['message']}")
    median = checks.median_lines_read(previous)
    return {"warnings": warnings, "volume_baseline": {"nights": len(previous), "median_lines_read": median}}


@task
def write_report(night: Night, resumed: list[str], landed: Landed, ingested: dict | None, plan: NightPlan,
                 windows: tuple[batch.MergeJob, dict] | None, checked: dict) -> dict:
    """The run report: accounting of every line, what was recomputed, durations, top rising, warnings."""
    merge_stats = windows[1] if windows else None
    report = {
        "run_id": night.run_id,
        "as_of": night.as_of.isoformat(),
        "started_at": night.started.isoformat(),
        "landing": str(Path(night.landing_dir).resolve()),
        "warehouse": str(night.wh.root),
        "full_refresh": night.full_refresh,
        "resumed_runs": resumed,
        "files": {"new": len(landed.plan.new), "changed": len(landed.plan.changed),
                  "already_ingested": landed.plan.already_ingested},
        "recomputed": windows is not None,
        "touched_event_dates": sorted(d.isoformat() for d in plan.touched),
        "event_dates_rewritten": sorted(d.isoformat() for d in plan.rewritten) if windows else [],
        "windows_recomputed_from": windows[0].recompute_from.isoformat() if windows else None,
        "counts": run_report.accounting(batch.run_report_counts(ingested, merge_stats, plan.stored_wins)),
        "top_rising": sql_layer.top_rising(night.wh, night.as_of, night.config.top_rising),
        **checked,
        "config": cfg.to_dict(night.config),
        "outputs": {"duckdb": str(night.wh.duckdb_path),
                    **{name: str(night.wh.root / name) for name in ("events", "rejected", "engagement_daily",
                                                                     "engagement_trailing", "profile_daily")}},
    }
    night.durations["total"] = time.perf_counter() - night.clock  # the flow's own work, without Prefect's
    report["durations_s"] = {k: round(v, 3) for k, v in night.durations.items()}
    return _save_report(night, report)


def _save_report(night: Night, report: dict) -> dict:
    report = {k: v for k, v in report.items() if k != "report_path"}
    path = night.wh.write_json(f"runs/{night.run_id}.json", report)
    night.wh.write_json("last_run.json", report)
    return report | {"report_path": str(path)}


@task
def write_radar_report(night: Night, report: dict) -> dict:
    """The radar report page (report/) of the warehouse after the night; its path joins the run
    report's outputs. A warehouse with no SQL layer yet (nothing ever landed) has no page."""
    from report import write_radar_report as write_page

    if not night.wh.duckdb_path.exists():
        progress("radar report: no analyst database yet, no page")
        return report
    clock = time.perf_counter()
    path = write_page(night.wh.root)
    progress(f"radar report: {path}")
    durations = report["durations_s"] | {"radar_report": round(time.perf_counter() - clock, 3)}
    return _save_report(night, report | {"outputs": report["outputs"] | {"radar_report": str(path)},
                                         "durations_s": durations})


def raise_on_warnings(night: Night, report: dict) -> dict:
    """With `checks.fail_on_warning`, a night that warned fails (after its commit and report)."""
    if report["warnings"] and night.config.checks.fail_on_warning:
        raise NightWarnings(report)
    return report
