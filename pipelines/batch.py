"""The nightly batch pipeline: landed files (+ stored events) -> staged Parquet partitions.

`build` wires the composites; `run` executes them with standard Beam pipeline options.
Everything is written below `staging_dir`; publishing into the warehouse is the caller's
commit step, so a failed or killed run leaves the warehouse as it was.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions

from pipelines import landing
from pipelines.dedup import DedupStats
from pipelines.transforms import (
    DAILY, REJECTED, STATS, TRAILING, DeduplicateEvents, ParseEvents, ReadEventFileFn,
    WindowEngagement, WritePartitionedParquet,
)
from schemas.datasets import ENGAGEMENT_DAILY, ENGAGEMENT_TRAILING, EVENTS, REJECTED as REJECTED_DS

DEFAULT_RUNNER = "FnApiRunner"  # the default DirectRunner tries to download Prism first
STATS_FILE = "pipeline_stats.json"
EPOCH = date(1970, 1, 1)


@dataclass(frozen=True)
class BatchJob:
    new_files: list[landing.LandedFile]
    stored_event_files: list[str]
    staging_dir: str
    run_id: str
    ingest_us: int
    as_of: date
    first_end_day: date | None = None
    num_buckets: int = 16
    beam_args: list[str] = field(default_factory=list)


def merge_line_counts(counts: list[dict]) -> dict:
    total = {"lines_read": 0, "blank": 0, "valid": 0, "rejected": {}}
    for c in counts:
        for k in ("lines_read", "blank", "valid"):
            total[k] += c[k]
        for reason, n in c["rejected"].items():
            total["rejected"][reason] = total["rejected"].get(reason, 0) + n
    return total


def _write_stats(stats: tuple, staging_dir: str) -> None:
    line_counts, dedup_stats = stats
    lines = merge_line_counts(line_counts)
    dd = sum(dedup_stats, DedupStats())
    lines.update(accepted=dd.accepted, duplicates=dd.duplicates, conflicting_duplicates=dd.conflicting_duplicates)
    Path(staging_dir, STATS_FILE).write_text(json.dumps(lines, sort_keys=True))


def _day(d: date) -> int:
    return (d - EPOCH).days


def build(p: beam.Pipeline, job: BatchJob) -> None:
    parsed = p | "LandedFiles" >> beam.Create(job.new_files) | "ParseEvents" >> ParseEvents(job.ingest_us, job.run_id)
    stored = (
        p
        | "StoredEventFiles" >> beam.Create(job.stored_event_files)
        | "SpreadStored" >> beam.Reshuffle()
        | "ReadStoredEvents" >> beam.ParDo(ReadEventFileFn())
    )
    deduped = (parsed.events, stored) | "DeduplicateEvents" >> DeduplicateEvents(job.num_buckets)
    first_end = _day(job.first_end_day) if job.first_end_day else None
    windows = deduped.events | "WindowEngagement" >> WindowEngagement(_day(job.as_of), job.num_buckets, first_end)

    event_keys = ["platform", "profile_id", "event_time", "event_id"]
    profile_keys = ["platform", "profile_id"]
    deduped.events | "WriteEvents" >> WritePartitionedParquet(EVENTS, job.staging_dir, job.run_id, event_keys)
    rejected_with_day = parsed[REJECTED] | "RejectedIngestDate" >> beam.Map(_with_ingest_date, job.ingest_us)
    rejected_with_day | "WriteRejected" >> WritePartitionedParquet(
        REJECTED_DS, job.staging_dir, job.run_id, ["source_file", "source_line"]
    )
    windows[DAILY] | "WriteDaily" >> WritePartitionedParquet(ENGAGEMENT_DAILY, job.staging_dir, job.run_id, profile_keys)
    windows[TRAILING] | "WriteTrailing" >> WritePartitionedParquet(
        ENGAGEMENT_TRAILING, job.staging_dir, job.run_id, profile_keys + ["window_days"]
    )

    line_counts = parsed[STATS] | "AllLineCounts" >> beam.combiners.ToList()
    dedup_stats = deduped[STATS] | "AllDedupStats" >> beam.combiners.ToList()
    (
        p
        | "StatsTrigger" >> beam.Create([None])
        | "WriteStats" >> beam.Map(
            lambda _, lc, ds: _write_stats((lc, ds), job.staging_dir),
            beam.pvalue.AsSingleton(line_counts),
            beam.pvalue.AsSingleton(dedup_stats),
        )
    )


def _with_ingest_date(table, ingest_us: int):
    import pyarrow as pa

    day = ingest_us // 86_400_000_000
    return table.append_column("ingest_date", pa.array([day] * table.num_rows, pa.int32()).cast(pa.date32()))


def run(job: BatchJob) -> dict:
    """Runs the pipeline to completion and returns its line and dedup counts."""
    args = list(job.beam_args)
    if not any(a.startswith("--runner") for a in args):
        args.append(f"--runner={DEFAULT_RUNNER}")
    Path(job.staging_dir).mkdir(parents=True, exist_ok=True)
    with beam.Pipeline(options=PipelineOptions(args)) as p:
        build(p, job)
    return json.loads(Path(job.staging_dir, STATS_FILE).read_text())
