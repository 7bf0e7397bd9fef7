"""The nightly batch pipelines: landed files -> staged candidates; candidates + stored events -> windows.

Two Beam pipelines, so that a night reads only what it touches:

1. `run_ingest`: parse and validate the new files, dead-letter the rejects, deduplicate the new
   lines among themselves, and stage the surviving events as *candidates*.
2. `run_merge`: deduplicate the candidates against the stored events of the dates they touch,
   write those `events` partitions, and recompute the daily and trailing windows ending in
   `[recompute_from, as_of]` from the events of `[recompute_from - 27, as_of]`; for days whose
   daily rows are final already, from those rows and the days' distinct engagers instead.

Between the two, the caller finds which stored dates the candidates touch (a key lookup).
Everything is written below `staging_dir`; publishing is the caller's commit step, so a failed
or killed run leaves the warehouse as it was.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import apache_beam as beam
import pyarrow as pa
import pyarrow.compute as pc
from apache_beam.options.pipeline_options import DirectOptions, PipelineOptions

from ingest import landing, tables
from ingest.dedup import DedupStats
from pipelines import spill
from pipelines.stored import DailyFiles, EngagerFiles, EventFiles, TableFiles, file_groups
from pipelines.transforms import (
    BOOKINGS_IN,
    DAILY,
    EVENTS_IN,
    REJECTED,
    STATS,
    STORED_DAILY_IN,
    STORED_ENGAGERS_IN,
    TRAILING,
    WINDOW_COLUMNS,
    DeduplicateEvents,
    DropKeysFn,
    GatherByDate,
    ParseEvents,
    ReadFilesFn,
    WindowEngagement,
    WriteFilesFn,
    WritePartitionedParquet,
)
from schemas.datasets import ENGAGEMENT_DAILY, ENGAGEMENT_TRAILING, EVENTS
from schemas.datasets import REJECTED as REJECTED_DS
from schemas.units import LOOKBACK_DAYS, day_number, day_of_us

DEFAULT_RUNNER = "FnApiRunner"  # the default DirectRunner tries to download Prism first
CANDIDATES = "candidates"
INGEST_STATS = "ingest_stats.json"
MERGE_STATS = "merge_stats.json"
STORED_WINS = "stored_wins.parquet"
BOOKINGS = "bookings.parquet"  # counter bookings the windows read (MergeJob.bookings_file)  # candidates whose stored copy stays (storage.lookup)
SPILL = "_spill"  # shuffle files of a running pipeline (pipelines.spill)


def buckets_for(input_bytes: int, beam_args: list[str] = (), bytes_per_bucket: int = 48 << 20) -> int:
    """How many hash buckets a run uses when not told: a bucket's events are held in memory at
    once (dedup, windows), so the count grows with the input and memory stays flat. Each bucket
    writes its own file into each partition it has rows for, which the run's compaction then
    merges, so a small night keeps one bucket per local worker (`--direct_num_workers`, default 1):
    a second bucket would only double the small files and the work of merging them."""
    workers = _options(list(beam_args)).view_as(DirectOptions).direct_num_workers or 1
    return max(workers, -(-input_bytes // bytes_per_bucket))


@dataclass(frozen=True)
class IngestJob:
    new_files: list[landing.LandedFile]
    staging_dir: str
    run_id: str
    ingest_us: int
    num_buckets: int = 8
    beam_args: list[str] = field(default_factory=list)
    min_event_us: int | None = None  # event times before it are too_old_event; None: Config.min_event_time


@dataclass(frozen=True)
class MergeJob:
    candidate_files: list[str]  # staged by run_ingest
    touched_event_files: list[str]  # stored events of every date a candidate touches (deduplicated again)
    context_event_files: list[str]  # other stored events the windows need, read as they are
    staging_dir: str
    run_id: str
    as_of: date
    recompute_from: date  # windows ending in [recompute_from, as_of] are recomputed
    num_buckets: int = 8
    beam_args: list[str] = field(default_factory=list)
    # Days whose stored daily rows are final (untouched, up to the last run's as-of): the windows
    # read those rows and the days' distinct engagers, not their events.
    context_daily_files: list[str] = field(default_factory=list)  # engagement_daily files of those days
    context_engager_files: list[str] = field(default_factory=list)  # events files of those days
    # Touched dates whose stored events stay as they are (no stored copy of a candidate): the
    # commit keeps their files beside the run's new ones.
    appended_dates: list[date] = field(default_factory=list)
    # Candidates whose stored copy is the one kept (platform, event_id): left out before anything.
    stored_wins_file: str | None = None
    # Counter bookings (engagement.BOOKING_SCHEMA) of the days computed from events, and the
    # countered (post, kind)s (storage.counters, planning.nights.bookings_for_days); None: none.
    bookings_file: str | None = None
    # The history horizon's first day (SPEC section 5): no day before it is read or written.
    horizon_start: date | None = None
    # Stored `events` partitions before the horizon: days that keep being filed under themselves
    # (schemas.units.filed_day); other days before the horizon are filed under their year.
    stored_days_before_horizon: list[date] = field(default_factory=list)

    @property
    def context_start(self) -> date:
        start = self.recompute_from - timedelta(days=LOOKBACK_DAYS)
        return start if self.horizon_start is None else max(start, self.horizon_start)


def merge_line_counts(counts: list[dict]) -> dict:
    total = {"lines_read": 0, "blank": 0, "valid": 0, "rejected": {}}
    for c in counts:
        for k in ("lines_read", "blank", "valid"):
            total[k] += c[k]
        for reason, n in c["rejected"].items():
            total["rejected"][reason] = total["rejected"].get(reason, 0) + n
    return total


def _dedup_totals(stats: list[DedupStats]) -> dict:
    total = sum(stats, DedupStats())
    return {
        "accepted": total.accepted,
        "duplicates": total.duplicates,
        "conflicting_duplicates": total.conflicting_duplicates,
    }


def _write_json(path: str, **parts) -> None:
    Path(path).write_text(json.dumps(parts, sort_keys=True))


def _options(beam_args: list[str]) -> PipelineOptions:
    args = list(beam_args)
    if not any(a.startswith("--runner") for a in args):
        args.append(f"--runner={DEFAULT_RUNNER}")
    return PipelineOptions(args)


def _with_ingest_date(table: pa.Table, ingest_us: int) -> pa.Table:
    day = day_of_us(ingest_us)
    return table.append_column("ingest_date", pa.array([day] * table.num_rows, pa.int32()).cast(pa.date32()))


def build_ingest(p: beam.Pipeline, job: IngestJob) -> None:
    parsed = (
        p
        | "LandedFiles" >> beam.Create(job.new_files)
        | "ParseEvents" >> ParseEvents(job.ingest_us, job.run_id, min_event_us=job.min_event_us)
    )
    nothing_stored = p | "NothingStored" >> beam.Create([])
    deduped = (parsed.events, nothing_stored) | "DeduplicateNewLines" >> DeduplicateEvents(
        job.num_buckets, _spill_dir(job.staging_dir, "dedup")
    )
    deduped.events | "StageCandidates" >> beam.ParDo(
        WriteFilesFn(str(Path(job.staging_dir, CANDIDATES)), job.run_id)
    )
    (
        parsed[REJECTED]
        | "RejectedIngestDate" >> beam.Map(_with_ingest_date, job.ingest_us)
        | "WriteRejected" >> WritePartitionedParquet(REJECTED_DS, job.staging_dir, job.run_id)
    )
    line_counts = parsed[STATS] | "AllLineCounts" >> beam.combiners.ToList()
    dedup_stats = deduped[STATS] | "AllDedupStats" >> beam.combiners.ToList()
    (
        p
        | "StatsTrigger" >> beam.Create([None])
        | "WriteIngestStats"
        >> beam.Map(
            lambda _, lines, dd: _write_json(
                str(Path(job.staging_dir, INGEST_STATS)),
                lines=merge_line_counts(lines),
                dedup=_dedup_totals(dd),
            ),
            beam.pvalue.AsSingleton(line_counts),
            beam.pvalue.AsSingleton(dedup_stats),
        )
    )


def _spill_dir(staging_dir: str, step: str) -> str:
    return str(Path(staging_dir, SPILL, step))


def _read_stored(p: beam.Pipeline, job: MergeJob):
    """Every stored file the merge reads, in one step: a PCollection of tables per kind."""
    readers = {
        "candidates": EventFiles(),
        "touched": EventFiles(),
        # Context events only feed the windows: read just the columns the metrics use.
        "context": EventFiles(WINDOW_COLUMNS),
        STORED_DAILY_IN: DailyFiles(),
        STORED_ENGAGERS_IN: EngagerFiles(
            day_number(job.as_of),
            day_number(job.context_start),
            collapse_before=day_number(job.recompute_from),
        ),
        BOOKINGS_IN: TableFiles(),
    }
    files = {
        "candidates": job.candidate_files,
        "touched": job.touched_event_files,
        "context": job.context_event_files,
        STORED_DAILY_IN: job.context_daily_files,
        STORED_ENGAGERS_IN: job.context_engager_files,
        BOOKINGS_IN: [job.bookings_file] if job.bookings_file else [],
    }
    limits = {STORED_ENGAGERS_IN: EngagerFiles.GROUP_LIMITS}
    groups = [
        (kind, group) for kind, paths in files.items() for group in file_groups(paths, **limits.get(kind, {}))
    ]
    return (
        p
        | "StoredFiles" >> beam.Create(groups)
        | "SpreadFiles" >> beam.Reshuffle()
        | "ReadFiles" >> beam.ParDo(ReadFilesFn(readers)).with_outputs(*readers)
    )


def build_merge(p: beam.Pipeline, job: MergeJob) -> None:
    read = _read_stored(p, job)
    candidates = read.candidates
    if job.stored_wins_file:
        candidates = candidates | "LeaveOutStoredWins" >> beam.ParDo(DropKeysFn(job.stored_wins_file))
    if job.touched_event_files:
        merged = (candidates, read.touched) | "DeduplicateAgainstStored" >> DeduplicateEvents(
            job.num_buckets, _spill_dir(job.staging_dir, "dedup")
        )
        events, dedup_stats = merged.events, merged[STATS]
    else:  # nothing stored on these dates (a first night, a full refresh): candidates are unique already
        events = candidates
        dedup_stats = candidates | "AllAccepted" >> beam.Map(lambda t: DedupStats(accepted=t.num_rows))
    stored_days = frozenset(job.stored_days_before_horizon)
    (
        events
        | "FileByDate" >> beam.Map(tables.with_filed_date, job.horizon_start, stored_days)
        | "GatherByDate" >> GatherByDate(job.num_buckets, _spill_dir(job.staging_dir, "events"))
        | "WriteEvents" >> WritePartitionedParquet(EVENTS, job.staging_dir, job.run_id)
    )

    inputs = {
        EVENTS_IN: (events, read.context),
        STORED_DAILY_IN: read[STORED_DAILY_IN],
        STORED_ENGAGERS_IN: read[STORED_ENGAGERS_IN],
        BOOKINGS_IN: read[BOOKINGS_IN],
    }
    windows = inputs | "WindowEngagement" >> WindowEngagement(
        day_number(job.as_of),
        job.num_buckets,
        _spill_dir(job.staging_dir, "windows"),
        day_number(job.recompute_from),
        day_number(job.context_start),
        counters=True,
    )
    windows[DAILY] | "WriteDaily" >> WritePartitionedParquet(ENGAGEMENT_DAILY, job.staging_dir, job.run_id)
    windows[TRAILING] | "WriteTrailing" >> WritePartitionedParquet(
        ENGAGEMENT_TRAILING, job.staging_dir, job.run_id
    )
    all_stats = dedup_stats | "AllDedupStats" >> beam.combiners.ToList()
    (
        p
        | "StatsTrigger" >> beam.Create([None])
        | "WriteMergeStats"
        >> beam.Map(
            lambda _, dd: _write_json(str(Path(job.staging_dir, MERGE_STATS)), dedup=_dedup_totals(dd)),
            beam.pvalue.AsSingleton(all_stats),
        )
    )


def run_ingest(job: IngestJob) -> dict:
    """Runs pipeline 1; returns {"lines": line counts, "dedup": counts among the new lines}."""
    Path(job.staging_dir, CANDIDATES).mkdir(parents=True, exist_ok=True)
    with beam.Pipeline(options=_options(job.beam_args)) as p:
        build_ingest(p, job)
    spill.remove(str(Path(job.staging_dir, SPILL)))
    return json.loads(Path(job.staging_dir, INGEST_STATS).read_text())


def run_merge(job: MergeJob) -> dict:
    """Runs pipeline 2; returns {"dedup": counts of candidates against the stored events}."""
    Path(job.staging_dir).mkdir(parents=True, exist_ok=True)
    with beam.Pipeline(options=_options(job.beam_args)) as p:
        build_merge(p, job)
    spill.remove(str(Path(job.staging_dir, SPILL)))
    return json.loads(Path(job.staging_dir, MERGE_STATS).read_text())


def candidate_files(staging_dir: str) -> list[str]:
    return sorted(str(p) for p in Path(staging_dir, CANDIDATES).glob("*.parquet"))


def run_report_counts(ingest: dict | None, merge: dict | None, stored_wins: pa.Table | None = None) -> dict:
    """Line accounting for the run: duplicates among the new lines, those of stored events the
    lookup settled (`stored_wins`, left out of the merge), and those the merge found."""
    if ingest is None:
        return {}
    lines = dict(ingest["lines"])
    a, b = (
        ingest["dedup"],
        (merge or {}).get(
            "dedup", {"accepted": ingest["dedup"]["accepted"], "duplicates": 0, "conflicting_duplicates": 0}
        ),
    )
    settled = stored_wins.num_rows if stored_wins is not None else 0
    conflicting = int(pc.sum(stored_wins["conflicting"]).as_py() or 0) if settled else 0
    lines["accepted"] = b["accepted"]
    lines["duplicates"] = a["duplicates"] + b["duplicates"] + settled
    lines["conflicting_duplicates"] = a["conflicting_duplicates"] + b["conflicting_duplicates"] + conflicting
    return lines
