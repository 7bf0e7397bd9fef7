"""Streaming mode: the same parsing and metric logic as the batch pipeline, with Beam event time.

Flow (every step is a composite transform; windowing, trigger and lateness are constructor
arguments):

    lines (source_file, line_no, raw bytes), timestamped with their *arrival* time
      -> ParseStream       events timestamped with event_time; tagged `rejected`, `too_late`
      -> DedupStream       stateful per (platform, event_id); tagged `duplicates`
      -> WindowDailyEngagement            FixedWindows(1 day)
      -> WindowTrailingEngagement(7|28)   SlidingWindows(N days, 1 day)
      -> WriteStreamPartitions            stateful per partition, atomic directory swap

Metrics are never reimplemented here: each pane's events become an Arrow table
(`tables.events_table`) and go through `engagement.daily_engagement` /
`engagement.trailing_engagement`. Per-element Beam windowing is costly (PLATFORM.md), which
is acceptable for streaming, where watermarks and panes are the point.

Too-late detection
------------------
Beam drops an element from a window once the watermark has passed
`window.end + allowed_lateness`, silently. We cannot read the watermark in a DoFn, so
`ParseStream` compares the event's day against the line's *arrival timestamp*, the
timestamp the line carries before it is re-stamped with its event_time: for the file
watcher that is the poll's processing time (which is what drives the watermark); for a
`TestStream` it is the watermark at which the line was added. An event is too late when

    end of its UTC day + allowed_lateness <= arrival timestamp

and it then goes to the `too_late` output (with a reason) and to no window at all, so the
daily and trailing rows always describe the same set of events. A line's arrival
timestamp is never behind the watermark, and a pending element holds the downstream
watermark back, so an event that is *not* flagged cannot be dropped by a window
(its day window and every sliding window that contains it end at or after its day's end).
Limits: (1) the rule is only as good as the source's arrival stamps: a source whose
watermark runs ahead of the timestamps it puts on lines would let Beam drop data silently;
(2) an event that is too late for its day is also withheld from the 7/28-day windows that
are still open (consistency over completeness); (3) with the file watcher the watermark is
processing time, so replaying history older than the lateness sends it all to `too_late`
(use the nightly flow for history).

Restarts (Ctrl-C, then `microradar stream` again)
-------------------------------------------------
Beam's state (dedup, accumulated panes) lives in the process and dies with it. The sink
*replaces* a profile's row with each pane, and an accumulating pane holds the whole window,
so a restarted stream that started from empty windows would, on the next late event, replace a
row with the post-restart events alone. And rereading every landed file would write every
dead letter again. So the stream keeps a manifest of the files it consumed
(`_meta/stream_manifest.parquet`, `pipelines/stream_manifest.py`; separate from the nightly
manifest because the nightly flow must still ingest those files into `events`), and on start:

1. files in the manifest are not read as new; one whose content changed (same path, other
   SHA-256) is logged as an error and skipped, as the nightly flow refuses it;
2. the files that arrived recently enough to hold events of a window still open (arrival
   within lateness + 30 days) are *replayed* first, each line stamped with its first arrival
   time (the manifest's `ingested_at`), before the watermark moves. Too-late, future-event
   and dedup decisions come out as they did the first time, so every still-open window is
   rebuilt with exactly the events the earlier runs accepted, and its next pane is complete;
3. panes of windows already closed at the start (end + lateness before it) are not written:
   the replay may hold only part of their events; their rows stay as written;
4. dead letters are written insert-if-absent by (source_file, source_line): a replayed line
   keeps its arrival stamp, hence its `ingest_date` partition, and is not recorded twice.

Delivery: a poll records the files it consumed *before* handing their lines to the pipeline,
and a restart replays recent files whether or not their lines got through, so lines reach the
pipeline at least once; the replace-by-key and insert-if-absent sinks plus dedup make them
count once. A run killed between reading a file and recording it reads it again as new (with
a new arrival stamp): still counted once in the windows. Limits: windows that closed while the
stream was down, with events the earlier run had not yet written (e.g. today's window at
Ctrl-C, restart more than the lateness later), are not written by the stream (the nightly flow
recomputes them); a changed or deleted file is left out of the rebuilt windows; the replay
re-reads up to lateness + 30 days of consumed files at each start, and rewrites the rows of the
windows it rebuilds (same values); keep `--allowed-lateness` the same across restarts (the
replay judges lateness with the current value). The stream's rows replace rows for the same
key whoever wrote them: a stream pane for a day the nightly flow already computed from more
events replaces that row until the next nightly run recomputes it.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
import uuid
from schemas.units import DAY_S, US_PER_DAY, US_PER_S, WINDOW_LENGTHS, day_date, day_number
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import apache_beam as beam
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from apache_beam.coders import PickleCoder, StrUtf8Coder
from apache_beam.metrics import Metrics
from apache_beam.typehints import Any, Tuple
from apache_beam.transforms.trigger import AccumulationMode, AfterCount, AfterWatermark
from apache_beam.transforms.userstate import ReadModifyWriteStateSpec, TimerSpec, on_timer
from apache_beam.transforms.window import FixedWindows, GlobalWindows, SlidingWindows, TimestampedValue
from apache_beam.utils.timestamp import MIN_TIMESTAMP, Duration, Timestamp
from apache_beam.utils.windowed_value import PaneInfoTiming

from pipelines import engagement, stream_manifest

from ingest import landing, parse, tables
from ingest.landing import LandedFile
from storage.warehouse import replace_partition
from schemas.datasets import ENGAGEMENT_DAILY, ENGAGEMENT_TRAILING, METRIC_NAMES, REJECTED, STREAM_TOO_LATE

_LOG = logging.getLogger(__name__)
DEFAULT_ALLOWED_LATENESS_S = 3 * DAY_S

EVENTS = "events"
REJECTED_TAG = "rejected"
TOO_LATE = "too_late"
DUPLICATES = "duplicates"
TOO_LATE_DATASET = STREAM_TOO_LATE.name  # same columns as `rejected`; reason is always `too_late`

_I = {name: i for i, name in enumerate(parse.EVENT_COLUMNS)}


def _day_iso(day: int) -> str:
    return day_date(day).isoformat()


def _now_us() -> int:
    return time.time_ns() // 1000


def _window_spec(window_fn, allowed_lateness_s: int) -> beam.WindowInto:
    return beam.WindowInto(
        window_fn,
        trigger=AfterWatermark(late=AfterCount(1)),
        accumulation_mode=AccumulationMode.ACCUMULATING,
        allowed_lateness=Duration(seconds=allowed_lateness_s),
    )


# --- parse -------------------------------------------------------------------------------------

class ParseLineFn(beam.DoFn):
    """(source_file, line_no, raw) stamped with its arrival time -> event (row, source_file, line_no)
    stamped with event_time; rejects and too-late lines to tagged outputs as dead-letter tuples
    (source_file, source_line, raw_line, reason, detail, ingested_us)."""

    def __init__(self, allowed_lateness_s: int, ingest_us: int | None = None, min_event_us: int | None = None):
        self.allowed_lateness_s = allowed_lateness_s
        self.min_event_us = min_event_us  # None: Config.min_event_time
        # A fixed ingest moment (tests); None: the line's arrival stamp, so that a line replayed
        # after a restart (it keeps its first arrival stamp) gets the same `future_event`
        # verdict and `ingest_date` as the first time.
        self.ingest_us = ingest_us
        self.too_late = Metrics.counter("microradar", "stream_too_late")
        self.rejected = Metrics.counter("microradar", "stream_rejected")

    def process(self, line, arrival=beam.DoFn.TimestampParam):
        source_file, number, raw = line
        ingest_us = self.ingest_us
        if ingest_us is None:  # a line stamped before any watermark (a bare TestStream) has no arrival
            ingest_us = arrival.micros if arrival > MIN_TIMESTAMP else _now_us()
        result = parse.parse_line(raw, ingest_us, self.min_event_us)
        if result is None:
            return
        if isinstance(result, parse.Reject):
            self.rejected.inc()
            yield beam.pvalue.TaggedOutput(
                REJECTED_TAG, (source_file, number, parse.raw_text(raw), result.reason, result.detail, ingest_us))
            return
        event_us = result[_I["event_time"]]
        day_end_s = (event_us // US_PER_DAY + 1) * DAY_S
        if Timestamp(day_end_s + self.allowed_lateness_s) <= arrival:
            self.too_late.inc()
            detail = (f"event day {_day_iso(day_end_s // DAY_S - 1)} closed at "
                      f"{Timestamp(day_end_s + self.allowed_lateness_s).to_rfc3339()} (allowed lateness "
                      f"{self.allowed_lateness_s} s); the line arrived at {arrival.to_rfc3339()}")
            yield beam.pvalue.TaggedOutput(
                TOO_LATE, (source_file, number, parse.raw_text(raw), "too_late", detail, ingest_us))
            return
        yield TimestampedValue((result, source_file, number), Timestamp(micros=event_us))


class ParseStream(beam.PTransform):
    """Lines -> events (main output `events`), `rejected` and `too_late` dead-letter tuples."""

    def __init__(self, allowed_lateness_s: int = DEFAULT_ALLOWED_LATENESS_S, ingest_us: int | None = None,
                 min_event_us: int | None = None):
        super().__init__()
        self.fn = ParseLineFn(allowed_lateness_s, ingest_us, min_event_us)

    def expand(self, lines):
        return lines | "ParseLine" >> beam.ParDo(self.fn).with_outputs(REJECTED_TAG, TOO_LATE, main=EVENTS)


# --- dedup -------------------------------------------------------------------------------------

class DedupFn(beam.DoFn):
    """Keyed by (platform, event_id): the first copy passes, later copies go to `duplicates`
    as (platform, event_id, conflicting). The state expires with an event-time timer once the
    event's day is past the allowed lateness: any copy after that is too late anyway and is
    routed to `too_late` before it gets here, so the state stays bounded."""

    KEPT = ReadModifyWriteStateSpec("kept_payload_hash", StrUtf8Coder())
    EXPIRE = TimerSpec("expire", beam.TimeDomain.WATERMARK)

    def __init__(self, allowed_lateness_s: int):
        self.allowed_lateness_s = allowed_lateness_s
        self.duplicates = Metrics.counter("microradar", "stream_duplicates")

    def process(self, keyed, kept=beam.DoFn.StateParam(KEPT), expire=beam.DoFn.TimerParam(EXPIRE)):
        (platform, event_id), event = keyed
        payload_hash = event[0][_I["payload_hash"]]
        seen = kept.read()
        if seen is not None:
            self.duplicates.inc()
            yield beam.pvalue.TaggedOutput(DUPLICATES, (platform, event_id, seen != payload_hash))
            return
        kept.write(payload_hash)
        day_end_s = (event[0][_I["event_time"]] // US_PER_DAY + 1) * DAY_S
        expire.set(Timestamp(day_end_s + self.allowed_lateness_s))
        yield event

    @on_timer(EXPIRE)
    def expire_state(self, kept=beam.DoFn.StateParam(KEPT)):
        kept.clear()


class DedupStream(beam.PTransform):
    """Events -> first copy per (platform, event_id) (main `events`), later copies to `duplicates`.
    The first copy to arrive wins (the batch rule, smallest payload hash, needs every copy)."""

    def __init__(self, allowed_lateness_s: int = DEFAULT_ALLOWED_LATENESS_S):
        super().__init__()
        self.allowed_lateness_s = allowed_lateness_s

    def expand(self, events):
        return (
            events
            | "KeyByEventId" >> beam.Map(lambda e: ((e[0][_I["platform"]], e[0][_I["event_id"]]), e))
            .with_output_types(Tuple[Tuple[str, str], Any])
            | "FirstCopy" >> beam.ParDo(DedupFn(self.allowed_lateness_s)).with_outputs(DUPLICATES, main=EVENTS)
        )


# --- windows -----------------------------------------------------------------------------------

def window_events_table(events) -> pa.Table:
    """A pane's events (row, source_file, line_no) -> one EVENT_ROW_SCHEMA table (lineage kept)."""
    by_file: dict[str, tuple[list, list]] = {}
    for row, source_file, number in events:
        rows, lines = by_file.setdefault(source_file, ([], []))
        rows.append(row)
        lines.append(number)
    return tables.concat([tables.events_table(r, f, n) for f, (r, n) in sorted(by_file.items())])


def _metrics(table: pa.Table) -> dict:
    """The single row of a one-row metrics table -> {metric: value}."""
    row = table.select(list(METRIC_NAMES)).to_pylist()[0]
    return {name: row[name] for name in METRIC_NAMES}


def _key_by_profile(event):
    row = event[0]
    return (row[_I["platform"]], row[_I["profile_id"]]), event


def _pane_fields(pane) -> dict:
    return {"pane_index": pane.index, "pane_timing": PaneInfoTiming.to_string(pane.timing)}


class DailyPaneFn(beam.DoFn):
    """((platform, profile_id), the day window's events so far) -> the day's full engagement row."""

    def process(self, keyed, window=beam.DoFn.WindowParam, pane=beam.DoFn.PaneInfoParam):
        (platform, profile_id), events = keyed
        day = int(window.start.micros // US_PER_DAY)
        daily, _ = engagement.daily_engagement(window_events_table(events), as_of_day=day, first_day=day)
        if daily.num_rows != 1:
            return
        yield {"platform": platform, "profile_id": profile_id, "day": _day_iso(day),
               **_metrics(daily), **_pane_fields(pane)}


class TrailingPaneFn(beam.DoFn):
    """((platform, profile_id), the sliding window's events so far) -> its full trailing row."""

    def __init__(self, window_days: int):
        self.window_days = window_days

    def process(self, keyed, window=beam.DoFn.WindowParam, pane=beam.DoFn.PaneInfoParam):
        (platform, profile_id), events = keyed
        end_day = int(window.end.micros // US_PER_DAY) - 1
        first_day = end_day - self.window_days + 1
        daily, engagers = engagement.daily_engagement(window_events_table(events), as_of_day=end_day,
                                                      first_day=first_day)
        if daily.num_rows == 0:
            return
        trailing = engagement.trailing_engagement(daily, engagers, end_day, recompute_from=end_day,
                                                  lengths=(self.window_days,))
        trailing = trailing.filter(pc.equal(trailing["window_end"], pa.scalar(end_day, pa.int32()).cast(pa.date32())))
        if trailing.num_rows != 1:
            return
        yield {"platform": platform, "profile_id": profile_id, "window_days": self.window_days,
               "window_end": _day_iso(end_day), **_metrics(trailing), **_pane_fields(pane)}


class WindowDailyEngagement(beam.PTransform):
    """Events -> one row per (platform, profile_id) per UTC day and pane: an on-time pane when the
    watermark passes midnight, then a late pane (the whole accumulated day again) for each late
    event within `allowed_lateness_s`."""

    def __init__(self, allowed_lateness_s: int = DEFAULT_ALLOWED_LATENESS_S):
        super().__init__()
        self.allowed_lateness_s = allowed_lateness_s

    def expand(self, events):
        return (
            events
            | "KeyByProfile" >> beam.Map(_key_by_profile)
            | "DayWindows" >> _window_spec(FixedWindows(DAY_S), self.allowed_lateness_s)
            | "GroupDay" >> beam.GroupByKey()
            | "DailyMetrics" >> beam.ParDo(DailyPaneFn())
        )


class WindowTrailingEngagement(beam.PTransform):
    """Events -> one row per (platform, profile_id) per N-day window ending on each day (SlidingWindows
    of N days every day), same trigger and lateness as the daily windows."""

    def __init__(self, window_days: int, allowed_lateness_s: int = DEFAULT_ALLOWED_LATENESS_S):
        super().__init__()
        self.window_days = window_days
        self.allowed_lateness_s = allowed_lateness_s

    def expand(self, events):
        return (
            events
            | "KeyByProfile" >> beam.Map(_key_by_profile)
            | "SlidingWindows" >> _window_spec(SlidingWindows(self.window_days * DAY_S, DAY_S), self.allowed_lateness_s)
            | "GroupWindow" >> beam.GroupByKey()
            | "TrailingMetrics" >> beam.ParDo(TrailingPaneFn(self.window_days))
        )


# --- sink --------------------------------------------------------------------------------------

def _read_partition(directory: Path, schema: pa.Schema) -> pa.Table:
    files = sorted(directory.glob("*.parquet")) if directory.is_dir() else []
    if not files:
        return schema.empty_table()
    return pa.concat_tables([pq.read_table(f, schema=schema) for f in files])


def _key_mask(table: pa.Table, schema: pa.Schema, columns: tuple[str, ...], values: tuple):
    """Boolean mask of the rows of `table` whose `columns` equal `values` (nulls never match)."""
    same = None
    for c, v in zip(columns, values):
        eq = pc.equal(table[c], pa.scalar(v, schema.field(c).type))
        same = eq if same is None else pc.and_(same, eq)
    return pc.fill_null(same, False)


class UpsertPartitionFn(beam.DoFn):
    """((dataset, partition value), row dict) -> the partition rewritten with the row in place of the
    row with the same key, swapped in atomically. With `insert_only` (dead letters) a row whose key
    is already in the partition is left alone instead: a line replayed after a restart keeps its
    first arrival stamp, hence its partition, and is not recorded twice.

    Stateful so that Beam runs one element of a partition at a time (no lost update between two
    panes of one partition). A pane older than the one already written for its row is ignored
    (panes of one window can reach the sink out of order on a distributed runner); that memory
    is dropped by a timer once the partition's windows are past the allowed lateness."""

    PANES = ReadModifyWriteStateSpec("pane_index_by_row", PickleCoder())
    EXPIRE = TimerSpec("expire", beam.TimeDomain.WATERMARK)

    def __init__(self, warehouse_dir: str, dataset_name: str, partition: str, schema: pa.Schema,
                 key_columns: tuple[str, ...], allowed_lateness_s: int | None, insert_only: bool = False):
        self.warehouse_dir = warehouse_dir
        self.insert_only = insert_only
        self.dataset_name = dataset_name
        self.partition = partition
        self.schema = schema
        self.key_columns = key_columns
        self.allowed_lateness_s = allowed_lateness_s
        self.writes = Metrics.counter("microradar", f"stream_writes_{dataset_name}")

    def process(self, keyed, panes=beam.DoFn.StateParam(PANES), expire=beam.DoFn.TimerParam(EXPIRE)):
        (_, value), row = keyed
        root = Path(self.warehouse_dir)
        target = root / self.dataset_name / f"{self.partition}={value}"
        current = _read_partition(target, self.schema)
        new = pa.Table.from_pylist([{c: row[c] for c in self.schema.names}], schema=self.schema)
        if self.insert_only:
            row_key = tuple(row[c] for c in self.key_columns)
            if current.num_rows and pc.any(_key_mask(current, self.schema, self.key_columns, row_key)).as_py():
                return
        elif self.key_columns:
            row_key = tuple(row[c] for c in self.key_columns)
            written = panes.read() or {}
            if written.get(row_key, -1) > row["pane_index"]:
                return
            written[row_key] = row["pane_index"]
            panes.write(written)
            if self.allowed_lateness_s is not None:
                end_s = day_number(date.fromisoformat(value)) * DAY_S + DAY_S
                expire.set(Timestamp(end_s + self.allowed_lateness_s + DAY_S))
            if current.num_rows:
                current = current.filter(pc.invert(_key_mask(current, self.schema, self.key_columns, row_key)))
        table = pa.concat_tables([current, new])
        if self.key_columns:
            table = table.sort_by([(c, "ascending") for c in self.key_columns])
        path = replace_partition(table, target, root / "_staging")
        self.writes.inc()
        yield (self.dataset_name, value, str(path), table.num_rows)

    @on_timer(EXPIRE)
    def forget(self, panes=beam.DoFn.StateParam(PANES)):
        panes.clear()


class WriteStreamPartitions(beam.PTransform):
    """Row dicts carrying the partition column as an ISO date -> Hive partitions under the warehouse.

    Design: a pane of one profile's window replaces that profile's row (key_columns) in its
    partition; the partition is rewritten as one new uniquely named file and swapped in, so a
    partition always holds exactly one file and every reader sees whole partitions. The cost is
    a partition rewrite per pane (fine at streaming rates of a single machine)."""

    def __init__(self, warehouse_dir: str, dataset, key_columns: tuple[str, ...],
                 allowed_lateness_s: int | None = None, schema: pa.Schema | None = None,
                 dataset_name: str | None = None, insert_only: bool = False):
        super().__init__()
        self.fn = UpsertPartitionFn(str(Path(warehouse_dir).resolve()), dataset_name or dataset.name,
                                    dataset.partition, schema or dataset.schema, key_columns, allowed_lateness_s,
                                    insert_only)
        self.partition = dataset.partition
        self.dataset_name = dataset_name or dataset.name

    def expand(self, rows):
        partition, name = self.partition, self.dataset_name
        return (
            rows
            | "Rewindow" >> beam.WindowInto(GlobalWindows())
            | "KeyByPartition" >> beam.Map(lambda r: ((name, r[partition]), r)).with_output_types(
                Tuple[Tuple[str, str], Any])
            | "Upsert" >> beam.ParDo(self.fn)
        )


def dead_letter_row(item: tuple, run_id: str) -> dict:
    """A dead-letter tuple -> a `rejected` row dict with its `ingest_date` partition."""
    source_file, number, raw_line, reason, detail, ingest_us = item
    ingested = datetime.fromtimestamp(ingest_us / US_PER_S, tz=timezone.utc)
    return {"source_file": source_file, "source_line": number, "raw_line": raw_line, "reason": reason,
            "detail": detail, "run_id": run_id, "ingested_at": ingested, "ingest_date": ingested.date().isoformat()}


# --- the whole streaming pipeline ----------------------------------------------------------------

class StreamEngagement(beam.PTransform):
    """Lines -> dict of PCollections: daily, trailing_7, trailing_28, rejected, too_late, duplicates."""

    def __init__(self, allowed_lateness_s: int = DEFAULT_ALLOWED_LATENESS_S, ingest_us: int | None = None,
                 window_lengths: tuple[int, ...] = WINDOW_LENGTHS):
        super().__init__()
        self.allowed_lateness_s = allowed_lateness_s
        self.ingest_us = ingest_us
        self.window_lengths = window_lengths

    def expand(self, lines):
        parsed = lines | "Parse" >> ParseStream(self.allowed_lateness_s, self.ingest_us)
        deduped = parsed[EVENTS] | "Dedup" >> DedupStream(self.allowed_lateness_s)
        out = {
            "daily": deduped[EVENTS] | "Daily" >> WindowDailyEngagement(self.allowed_lateness_s),
            "rejected": parsed[REJECTED_TAG],
            "too_late": parsed[TOO_LATE],
            "duplicates": deduped[DUPLICATES],
        }
        for n in self.window_lengths:
            out[f"trailing_{n}"] = deduped[EVENTS] | f"Trailing{n}" >> WindowTrailingEngagement(n, self.allowed_lateness_s)
        return out


def _window_open_at(row: dict, last_day_column: str, at_us: int, allowed_lateness_s: int) -> bool:
    as_of_day = day_number(date.fromisoformat(row[last_day_column]))
    return stream_manifest.window_open_at(as_of_day, at_us, allowed_lateness_s)


class WriteStreamOutputs(beam.PTransform):
    """StreamEngagement's outputs -> engagement_daily, engagement_trailing, rejected and
    stream_too_late partitions under the warehouse root.

    `started_us` (the run's start, for a run that replays what earlier runs consumed): rows of
    windows already closed then (end + lateness before it) are not written. Only replayed
    events can reach such a window, and the replay holds all of a window's events only for the
    windows still open at the start (module docstring, "Restarts"); the others keep their rows."""

    def __init__(self, warehouse_dir: str, allowed_lateness_s: int, run_id: str, started_us: int | None = None):
        super().__init__()
        self.warehouse_dir = warehouse_dir
        self.allowed_lateness_s = allowed_lateness_s
        self.run_id = run_id
        self.started_us = started_us

    def _open_only(self, rows, label: str, last_day_column: str):
        if self.started_us is None:
            return rows
        return rows | label >> beam.Filter(_window_open_at, last_day_column, self.started_us, self.allowed_lateness_s)

    def expand(self, outputs):
        wh, lateness, run_id = self.warehouse_dir, self.allowed_lateness_s, self.run_id
        written = [
            self._open_only(outputs["daily"], "OpenDaily", "day") | "WriteDaily" >> WriteStreamPartitions(
                wh, ENGAGEMENT_DAILY, ("platform", "profile_id"), lateness)
        ]
        trailing = [v for k, v in sorted(outputs.items()) if k.startswith("trailing_")]
        if trailing:
            written.append(
                self._open_only(trailing | "AllTrailing" >> beam.Flatten(), "OpenTrailing", "window_end")
                | "WriteTrailing" >> WriteStreamPartitions(
                    wh, ENGAGEMENT_TRAILING, ("platform", "profile_id", "window_days"), lateness))
        for tag, name in (("rejected", REJECTED.name), ("too_late", TOO_LATE_DATASET)):
            written.append(
                outputs[tag]
                | f"{tag}Rows" >> beam.Map(dead_letter_row, run_id)
                | f"Write{tag}" >> WriteStreamPartitions(wh, REJECTED, ("source_file", "source_line"), None,
                                                         dataset_name=name, insert_only=True)
            )
        return written | "Written" >> beam.Flatten()


# --- landing directory watcher -------------------------------------------------------------------

class LandingPoller:
    """Polls the landing directory and turns what landed into TestStream events: the lines of
    each new file, stamped with the poll's wall-clock time (their arrival time), then a
    watermark advance to that time. Files are immutable once landed (SPEC 2), so each is read
    once; files still being uploaded must be hidden (dot-named): `landing.discover` skips them.

    With a `manifest` (a `stream_manifest.StreamManifest`), "read once" holds across restarts:
    files earlier runs consumed are not read as new; those that arrived since `replay_from_us`
    are replayed first, with their first arrival stamps, to rebuild the state of the windows
    that are still open (module docstring, "Restarts"); a file whose content changed since a
    run consumed it is logged as an error and skipped, as the nightly flow refuses it. A poll
    records the files it consumed in the manifest before it hands their lines on.

    `read_multiple` is the reader interface of Beam's TestStreamServiceController, whose gRPC
    service feeds an endpoint-backed TestStream: on BundleBasedDirectRunner that is the one
    unbounded source whose watermark a user can drive (PeriodicImpulse, a splittable DoFn, is
    not supported there, and a stateful DoFn's timers do not hold its output watermark)."""

    LINES_PER_EVENT = 5_000

    def __init__(self, landing_dir: str, poll_interval_s: float, stop_at_s: float | None = None,
                 manifest: stream_manifest.StreamManifest | None = None, replay_from_us: int | None = None):
        self.landing_dir = landing_dir
        self.poll_interval_s = poll_interval_s
        self.stop_at_s = stop_at_s
        self.manifest = manifest
        self.seen: set[str] = set()  # relpaths decided in this process: consumed, known or refused
        self.unreadable: set[str] = set()
        self.replay: list[tuple[LandedFile, int]] = []  # (file, first arrival micros), arrival order
        if manifest is not None:
            self._resume(replay_from_us)

    def _resume(self, replay_from_us: int | None) -> None:
        """Sort the files earlier runs consumed into known (skipped), changed (refused) and to
        replay. Runs before the pipeline starts: hashing a large landing directory here cannot
        trip the TestStream's 30 s wait for its first event."""
        landed = {f.relpath: f for f in landing.discover(Path(self.landing_dir))}
        consumed = set(self.manifest.table["relpath"].to_pylist())
        plan = self.manifest.classify([f for rel, f in landed.items() if rel in consumed])
        changed = {f.relpath for f in plan.changed}
        self._refuse(plan.changed)
        self.seen |= consumed & set(landed)
        since = replay_from_us if replay_from_us is not None else _now_us()
        for relpath, _, arrival_us in stream_manifest.files_to_replay(self.manifest.table, since):
            if relpath in landed and relpath not in changed:
                self.replay.append((landed[relpath], arrival_us))
            elif relpath not in landed:
                _LOG.warning("landing file %s, consumed by an earlier stream run, is gone: the windows still "
                             "open that hold its events are rebuilt without them", relpath)

    def _refuse(self, changed: list[LandedFile]) -> None:
        for f in changed:
            _LOG.error("landing file %s changed after the stream consumed it (landed files are immutable): "
                       "skipped; its new content is not counted", f.relpath)
            self.seen.add(f.relpath)

    def _read(self, landed: LandedFile) -> list | None:
        """The file's (relpath, line_no, raw) lines, or None when it cannot be read (yet)."""
        try:
            lines = [(landed.relpath, n, raw) for n, raw in landing.iter_lines(landed.path)]
        except (OSError, EOFError) as exc:  # a truncated .gz or a vanished file: nothing of it is emitted
            if landed.relpath not in self.unreadable:
                _LOG.warning("unreadable landing file %s (retried every poll): %s", landed.relpath, exc)
            self.unreadable.add(landed.relpath)
            return None
        self.unreadable.discard(landed.relpath)
        return lines

    def _batches(self, lines: list) -> list[list]:
        return [lines[i:i + self.LINES_PER_EVENT] for i in range(0, len(lines), self.LINES_PER_EVENT)]

    def replay_batches(self):
        """(arrival micros, [lines]) of the files to replay, one file at a time."""
        for landed, arrival_us in self.replay:
            lines = self._read(landed)
            if lines is None:
                continue  # a replayed file that became unreadable: as if it were gone
            for batch in self._batches(lines):
                yield arrival_us, batch
        self.replay = []

    def poll(self):
        """One poll -> list of (timestamp_micros, [lines]) batches and the new watermark (micros)."""
        now_us = _now_us()
        unseen = [f for f in landing.discover(Path(self.landing_dir)) if f.relpath not in self.seen]
        if self.manifest is not None:
            plan = self.manifest.classify(unseen)
            self._refuse(plan.changed)
            self.seen |= {f.relpath for f in unseen} - {f.relpath for f in plan.new}  # known: consumed before
            unseen = plan.new
        batches, consumed = [], []
        for landed in unseen:
            lines = self._read(landed)
            if lines is None:
                continue
            self.seen.add(landed.relpath)
            consumed.append(landed)
            batches.extend(self._batches(lines))
        if self.manifest is not None:
            # Recorded before the lines are handed on: a run killed in between replays the file
            # at its restart (at-least-once into the pipeline; the sinks make it count once).
            self.manifest.record(consumed, plan.hashes, now_us)
        return now_us, batches

    def read_multiple(self, keys, tail=True):
        from apache_beam.coders import FastPrimitivesCoder
        from apache_beam.portability.api import beam_runner_api_pb2
        from apache_beam.utils.timestamp import MAX_TIMESTAMP

        Event = beam_runner_api_pb2.TestStreamPayload.Event
        TimestampedElement = beam_runner_api_pb2.TestStreamPayload.TimestampedElement
        coder = FastPrimitivesCoder()

        def add(lines, stamp_us):
            return Event(element_event=Event.AddElements(elements=[
                TimestampedElement(encoded_element=coder.encode(line), timestamp=stamp_us) for line in lines]))

        # Replayed lines go first, while the watermark is still at its minimum: nothing of them
        # can be dropped as late before the windows have taken them in.
        for arrival_us, lines in self.replay_batches():
            yield add(lines, arrival_us)
        while True:
            now_us, batches = self.poll()
            for lines in batches:
                yield add(lines, now_us)
            yield Event(watermark_event=Event.AdvanceWatermark(new_watermark=now_us))
            if self.stop_at_s is not None and time.time() >= self.stop_at_s:
                yield Event(watermark_event=Event.AdvanceWatermark(new_watermark=MAX_TIMESTAMP.micros))
                return
            time.sleep(self.poll_interval_s)


class WatchLanding(beam.PTransform):
    """The landing directory as an unbounded PCollection of lines (relpath, line_no, raw), stamped
    with their arrival time; the watermark follows the wall clock, one poll behind. The gRPC
    service is local (localhost) and lives as long as the transform object; call `stop()` after
    the pipeline ends. `poll_interval_s` must stay well under 30 s (the TestStream's idle timeout).
    `manifest` and `replay_from_us`: see LandingPoller."""

    def __init__(self, landing_dir: str, poll_interval_s: float, stop_after_s: float | None = None,
                 manifest: stream_manifest.StreamManifest | None = None, replay_from_us: int | None = None):
        super().__init__()
        if not 0 < poll_interval_s <= 20:
            raise ValueError("poll_interval_s must be in (0, 20] seconds")
        self.landing_dir = str(Path(landing_dir).resolve())
        self.poll_interval_s = poll_interval_s
        self.stop_after_s = stop_after_s
        self.manifest = manifest
        self.replay_from_us = replay_from_us
        self.poller: LandingPoller | None = None
        self.service = None

    def expand(self, pbegin):
        from apache_beam.testing.test_stream import TestStream
        from apache_beam.testing.test_stream_service import TestStreamServiceController

        self.poller = LandingPoller(self.landing_dir, self.poll_interval_s, None, self.manifest, self.replay_from_us)
        if self.stop_after_s is not None:  # counted from here: the resume above may take a while
            self.poller.stop_at_s = time.time() + self.stop_after_s
        self.service = TestStreamServiceController(self.poller)
        self.service.start()
        return pbegin | "Poll" >> TestStream(endpoint=self.service.endpoint)

    def stop(self):
        if self.service is not None:
            self.service.stop()


def streaming_options(beam_args: list[str] | None):
    """Pipeline options for streaming; the local default is BundleBasedDirectRunner (never the
    default DirectRunner, which tries a download)."""
    from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

    args = list(beam_args or [])
    if not any(a == "--runner" or a.startswith("--runner=") for a in args):
        args.append("--runner=BundleBasedDirectRunner")
    options = PipelineOptions(args)
    options.view_as(StandardOptions).streaming = True
    return options


def run_stream(landing_dir, warehouse_dir, allowed_lateness_s: int = DEFAULT_ALLOWED_LATENESS_S,
               beam_args: list[str] | None = None, poll_interval_s: float = 10.0,
               stop_after_s: float | None = None, progress=None):
    """Watch `landing_dir` and keep the warehouse's engagement partitions current until interrupted
    (Ctrl-C) or, if given, until `stop_after_s` seconds of polling have passed (then the watermark
    goes to the end of time and every open window emits its final pane). Holds the warehouse's
    writer lock the whole time: the nightly flow and the stream must not write at once.
    Resumes from the stream manifest (module docstring, "Restarts"); `progress(message)`, if
    given, is told what the resume found."""
    from storage.warehouse import Warehouse

    warehouse = Warehouse.at(warehouse_dir)
    warehouse.root.mkdir(parents=True, exist_ok=True)
    started_us = _now_us()
    run_id = "stream-" + datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
    with warehouse.lock():
        for stale in (warehouse.root / "_staging").glob("stream-*"):
            shutil.rmtree(stale, ignore_errors=True)  # swaps a killed stream never finished
        manifest = stream_manifest.StreamManifest(warehouse, run_id)
        pipeline = beam.Pipeline(options=streaming_options(beam_args))
        watch = WatchLanding(str(landing_dir), poll_interval_s, stop_after_s, manifest,
                             stream_manifest.replay_from_us(started_us, allowed_lateness_s))
        outputs = (
            pipeline
            | "WatchLanding" >> watch
            | "Engagement" >> StreamEngagement(allowed_lateness_s)
        )
        _ = outputs | "Write" >> WriteStreamOutputs(str(warehouse.root), allowed_lateness_s, run_id, started_us)
        if progress is not None and manifest.table.num_rows:
            progress(f"resuming: {manifest.table.num_rows} landing file(s) consumed by earlier stream runs are "
                     f"skipped; {len(watch.poller.replay)} of them replayed to rebuild the windows still open")
        result = pipeline.run()
        try:
            result.wait_until_finish()
        except KeyboardInterrupt:
            try:
                result.cancel()
            except Exception:  # noqa: BLE001 - the local runner may not support cancel; we are leaving anyway
                pass
            raise
        finally:
            watch.stop()
        return result


def parse_duration_s(text: str) -> int:
    """'3d', '36h', '90m', '45s' or plain seconds -> seconds (for `--allowed-lateness`)."""
    units = {"d": DAY_S, "h": 3600, "m": 60, "s": 1}
    text = text.strip().lower()
    if text and text[-1] in units:
        value, unit = text[:-1], units[text[-1]]
    else:
        value, unit = text, 1
    try:
        seconds = float(value) * unit
    except ValueError:
        raise ValueError(f"not a duration (e.g. 3d, 36h, 90m, 45s): {text!r}") from None
    if seconds < 0:
        raise ValueError(f"a duration cannot be negative: {text!r}")
    return int(seconds)
