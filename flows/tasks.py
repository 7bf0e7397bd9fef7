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
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
from prefect import task

from flows import run_report
from flows.progress import progress  # long steps say when they start and end; the CLI hooks it
from ingest import landing
from pipelines import batch, engagement
from planning import checks, nights
from schemas import config as cfg
from schemas.datasets import BEAM_DATASETS, ENGAGEMENT_DAILY, EVENTS, PROFILE_DAILY, REJECTED
from schemas.units import day_date, day_number, horizon_start, to_us, window_start
from storage import compaction, counters, entities, faults, lookup, manifest, sql_layer
from storage.warehouse import MANIFEST_SCHEMA, Warehouse


class ChangedLandingFiles(RuntimeError):
    pass


class UnreadableLandingFile(OSError):
    """A landed file vanished or could not be read while it was hashed: the message names it."""


class NightWarnings(RuntimeError):
    """The night committed and wrote its report, but warned, and `checks.fail_on_warning` is set."""

    def __init__(self, report: dict):
        self.report = report
        super().__init__(
            "; ".join(w["message"] for w in report["warnings"]) + f" (run report: {report['report_path']})"
        )


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
    """Records the wrapped step's wall time in `night.durations[step]` (its first argument). An I/O
    error leaving it says in which step it happened, beside the path it names."""

    def wrap(fn):
        @functools.wraps(fn)
        def run(night: Night, *args, **kwargs):
            clock = time.perf_counter()
            try:
                return fn(night, *args, **kwargs)
            except OSError as exc:
                if exc.errno is None or (exc.strerror or "").endswith(")"):
                    raise
                raise type(exc)(exc.errno, f"{exc.strerror} (nightly step: {step})", exc.filename) from exc
            finally:
                night.durations[step] = time.perf_counter() - clock

        return run

    return wrap


@dataclass(frozen=True)
class Landed:
    plan: manifest.IngestPlan
    manifest: pa.Table  # what earlier runs read (empty for a full refresh)
    state: dict  # the warehouse state before the run
    entries: dict = field(default_factory=dict)  # the landing entries' account (run report)

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
    # engine: counter bookings over the whole history after the night, and the history horizon
    bookings: pa.Table = field(default_factory=engagement.BOOKING_SCHEMA.empty_table)
    horizon_start: date | None = None


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


@task(retries=2, retry_delay_seconds=5)
def list_landing(landing_dir: str, ignored_patterns: tuple[str, ...]) -> landing.LandingScan:
    """Every entry below the landing directory, sorted into contract files, hidden, ignored, unknown
    and unreadable (file system: retried)."""
    return landing.scan(Path(landing_dir), ignored_patterns)


@task(retries=2, retry_delay_seconds=5)
def scan_landing(
    landed: list[landing.LandedFile], seen: pa.Table, rehash: bool = False
) -> manifest.IngestPlan:
    """Compares the landed files with the manifest (file system: retried). Files the manifest saw
    with the same size and modification time keep their recorded hash, unless `rehash`: the others
    are read and hashed, so a night reads the new files, not the history."""
    hashes = {} if rehash else manifest.recorded_hashes(landed, seen)
    hashes |= {f.relpath: _sha256(f) for f in landed if f.relpath not in hashes}
    return manifest.plan_ingest(landed, hashes, seen)


def check_landing(night: Night, entries: landing.LandingScan) -> dict:
    """The run report's account of the landing entries; an entry the run cannot account for fails
    it, named, with a report of the failed run (runs/<run_id>.json) listing every entry."""
    account = entries.report(night.config.skip_unreadable_landing)
    try:
        entries.check(night.landing_dir, night.config.skip_unreadable_landing)
    except landing.LandingProblems as exc:
        night.wh.write_json(
            f"runs/{night.run_id}.json",
            {
                "run_id": night.run_id,
                "status": "failed",
                "phase": "landing",
                "error": str(exc),
                "landing": str(Path(night.landing_dir).resolve()),
                "landing_entries": account,
            },
        )
        raise
    if entries.hidden:
        progress(f"landing: {len(entries.hidden)} hidden (dot-named) entries left for later")
    return account


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
    entries = list_landing(night.landing_dir, tuple(night.config.ignored_landing_patterns))
    account = check_landing(night, entries)
    plan = scan_landing(entries.files, seen, rehash)
    progress(
        f"landing: {len(plan.new)} new, {len(plan.changed)} changed, {plan.already_ingested} already ingested"
    )
    if plan.changed and not allow_changed:
        names = ", ".join(f.relpath for f in plan.changed)
        raise ChangedLandingFiles(
            f"landed files changed after ingestion (use --allow-changed to re-read): {names}"
        )
    # Unless told, the bucket count follows the night's input, so a bucket's memory does not.
    night.num_buckets = night.num_buckets or batch.buckets_for(sum(f.size for f in plan.new + plan.changed))
    return Landed(plan, seen, state, account)


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
@timed("lookup")
def plan_night(night: Night, landed: Landed) -> NightPlan:
    """The key lookup against stored events, then which dates to rewrite and windows to recompute."""
    candidates = batch.candidate_files(night.staging)
    stored = {} if night.full_refresh else night.wh.files_by_partition(EVENTS)
    found = lookup.touched_event_dates(stored, candidates)
    previous = date.fromisoformat(landed.state["as_of"]) if landed.state.get("as_of") else None
    windows_as_of = max(night.as_of, previous or night.as_of)
    horizon = horizon_start(windows_as_of, night.config.history_horizon_days)
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
        4 * sum(Path(f).stat().st_size for f in files.touched_event_files + files.context_event_files)
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
    )


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
    warnings = checks.freshness_and_volume(
        len(landed.to_read),
        lines_read,
        previous,
        settings.max_volume_drop,
        str(Path(night.landing_dir).resolve()),
    )
    for w in warnings:
        progress(f"WARNING ({w['check']}): {w['message']}")
    median = checks.median_lines_read(previous)
    return {"warnings": warnings, "volume_baseline": {"nights": len(previous), "median_lines_read": median}}


@task
def write_report(
    night: Night,
    resumed: dict[str, dict],
    landed: Landed,
    ingested: dict | None,
    plan: NightPlan,
    windows: tuple[batch.MergeJob, dict] | None,
    checked: dict,
) -> dict:
    """The run report: accounting of every line, what was recomputed, durations, top rising, warnings."""
    merge_stats = windows[1] if windows else None
    report = {
        "run_id": night.run_id,
        "as_of": night.as_of.isoformat(),
        "started_at": night.started.isoformat(),
        "landing": str(Path(night.landing_dir).resolve()),
        "warehouse": str(night.wh.root),
        "full_refresh": night.full_refresh,
        "resumed_runs": list(resumed),
        # The figures of each interrupted run this one finished (its lines are counted there, not here).
        "resumed": resumed,
        "files": {
            "new": len(landed.plan.new),
            "changed": len(landed.plan.changed),
            "already_ingested": landed.plan.already_ingested,
        },
        "landing_entries": landed.entries,
        "recomputed": windows is not None,
        "touched_event_dates": sorted(d.isoformat() for d in plan.touched),
        "event_dates_rewritten": sorted(d.isoformat() for d in plan.rewritten) if windows else [],
        "windows_recomputed_from": windows[0].recompute_from.isoformat() if windows else None,
        "counts": run_report.accounting(batch.run_report_counts(ingested, merge_stats, plan.stored_wins)),
        "top_rising": sql_layer.top_rising(night.wh, night.as_of, night.config.top_rising),
        **checked,
        "config": cfg.to_dict(night.config),
        "outputs": {
            "duckdb": str(night.wh.duckdb_path),
            **{
                name: str(night.wh.root / name)
                for name in ("events", "rejected", "engagement_daily", "engagement_trailing", "profile_daily")
            },
        },
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
    return _save_report(
        night, report | {"outputs": report["outputs"] | {"radar_report": str(path)}, "durations_s": durations}
    )


def raise_on_warnings(night: Night, report: dict) -> dict:
    """With `checks.fail_on_warning`, a night that warned fails (after its commit and report)."""
    if report["warnings"] and night.config.checks.fail_on_warning:
        raise NightWarnings(report)
    return report
