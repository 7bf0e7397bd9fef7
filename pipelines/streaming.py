"""Streaming mode: the same parsing and metric logic as the batch pipeline, with Beam event time.

Flow (every step is a composite transform; windowing, trigger and lateness are constructor
arguments):

    lines (source_file, line_no, raw bytes), timestamped with their *arrival* time
      -> ParseStream       events timestamped with event_time; tagged `rejected`, `too_late`
      -> WindowDailyEngagement            FixedWindows(1 day); copies deduplicated per profile-day
      -> WindowTrailingEngagement(N)      SlidingWindows(N days, 1 day) over the daily partials
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
import signal
import threading
import time
import uuid
from schemas.units import DAY_S, US_PER_DAY, US_PER_S, WINDOW_LENGTHS, day_date, day_number
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import apache_beam as beam
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from apache_beam.coders import PickleCoder
from apache_beam.metrics import Metrics
from apache_beam.typehints import Any, Tuple
from apache_beam.transforms.trigger import AccumulationMode, AfterCount, AfterWatermark
from apache_beam.transforms.userstate import ReadModifyWriteStateSpec, TimerSpec, on_timer
from apache_beam.transforms.window import FixedWindows, GlobalWindows, SlidingWindows, TimestampedValue
from apache_beam.utils.timestamp import MIN_TIMESTAMP, Duration, Timestamp
from apache_beam.utils.windowed_value import PaneInfoTiming

from pipelines import engagement, stream_manifest

from ingest import dedup, landing, parse, tables
from ingest.landing import LandedFile
from storage.warehouse import replace_partition
from schemas.datasets import ENGAGEMENT_DAILY, ENGAGEMENT_TRAILING, METRIC_NAMES, REJECTED

_LOG = logging.getLogger(__name__)
DEFAULT_ALLOWED_LATENESS_S = 3 * DAY_S

EVENTS = "events"
REJECTED_TAG = "rejected"
TOO_LATE = "too_late"
TOO_LATE_DATASET = "stream_too_late"  # same columns as `rejected`; reason is always `too_late`

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
        # (source_file, line_no, raw) or, from the landing watcher, (..., arrival wall-clock micros):
        # the element's timestamp is then the watermark when the line entered the pipeline (event
        # time), which decides `too_late`; the wall-clock arrival decides `future_event`.
        source_file, number, raw = line[:3]
        ingest_us = self.ingest_us
        if ingest_us is None and len(line) > 3:
            ingest_us = line[3]
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


PARTIALS = "partials"


class DailyPaneFn(beam.DoFn):
    """((platform, profile_id), the day window's events so far) -> the day's full engagement row;
    and to `partials`: ((platform, profile_id), (day, pane index, daily table, engagers table)),
    the day's columnar partial from which the trailing windows are composed (stamped, as every
    output of a window's pane, at the window's last instant: it falls in every sliding window
    that holds the day).

    Duplicates are dropped here, by the batch rule (`ingest.dedup`: the most complete copy wins,
    ties by the smallest payload hash), among the copies in the profile's day: copies of one
    event that differ in profile or UTC day would be counted in both (the contract's copies are
    re-deliveries of one event; the generator moves conflicting copies within their day). A
    stateful dedup keyed by event id costs a key and a timer per event, and the local runner
    scans every timer on each tick: it made the stream quadratic."""

    def __init__(self):
        self.duplicates = Metrics.counter("microradar", "stream_duplicate_copies_seen")

    def process(self, keyed, window=beam.DoFn.WindowParam, pane=beam.DoFn.PaneInfoParam):
        (platform, profile_id), events = keyed
        day = int(window.start.micros // US_PER_DAY)
        table = window_events_table(events)
        kept, stats = dedup.deduplicate(table.append_column(tables.IS_NEW, pa.array([True] * table.num_rows)))
        if pane.is_first or stats.duplicates:
            self.duplicates.inc(stats.duplicates)
        daily, engagers = engagement.daily_engagement(kept, as_of_day=day, first_day=day)
        if daily.num_rows != 1:
            return
        yield {"platform": platform, "profile_id": profile_id, "day": _day_iso(day),
               **_metrics(daily), **_pane_fields(pane)}
        yield beam.pvalue.TaggedOutput(PARTIALS, ((platform, profile_id), (day, pane.index, daily, engagers)))


class TrailingPaneFn(beam.DoFn):
    """((platform, profile_id), the daily partials of the sliding window so far) -> its full
    trailing row. Daily panes accumulate, so the latest pane of each day holds the whole day."""

    def __init__(self, window_days: int):
        self.window_days = window_days

    def process(self, keyed, window=beam.DoFn.WindowParam, pane=beam.DoFn.PaneInfoParam):
        (platform, profile_id), partials = keyed
        end_day = int(window.end.micros // US_PER_DAY) - 1
        latest: dict[int, tuple] = {}
        for day, index, daily, engagers in partials:
            if day not in latest or index > latest[day][0]:
                latest[day] = (index, daily, engagers)
        if not latest:
            return
        daily = pa.concat_tables([latest[d][1] for d in sorted(latest)])
        engagers = pa.concat_tables([latest[d][2] for d in sorted(latest)])
        trailing = engagement.trailing_engagement(daily, engagers, end_day, recompute_from=end_day,
                                                  lengths=(self.window_days,))
        trailing = trailing.filter(pc.equal(trailing["window_end"], pa.scalar(end_day, pa.int32()).cast(pa.date32())))
        if trailing.num_rows != 1:
            return
        yield {"platform": platform, "profile_id": profile_id, "window_days": self.window_days,
               "window_end": _day_iso(end_day), **_metrics(trailing), **_pane_fields(pane)}


class WindowDailyEngagement(beam.PTransform):
    """Events -> one row per (platform, profile_id) per UTC day and pane (main output `daily`): an
    on-time pane when the watermark passes midnight, then a late pane (the whole accumulated day
    again) for each late event within `allowed_lateness_s`; and the day's `partials` for the
    trailing windows."""

    def __init__(self, allowed_lateness_s: int = DEFAULT_ALLOWED_LATENESS_S):
        super().__init__()
        self.allowed_lateness_s = allowed_lateness_s

    def expand(self, events):
        return (
            events
            | "KeyByProfile" >> beam.Map(_key_by_profile)
            | "DayWindows" >> _window_spec(FixedWindows(DAY_S), self.allowed_lateness_s)
            | "GroupDay" >> beam.GroupByKey()
            | "DailyMetrics" >> beam.ParDo(DailyPaneFn()).with_output_types(Any).with_outputs(PARTIALS, main="daily")
        )


class WindowTrailingEngagement(beam.PTransform):
    """Daily partials -> one row per (platform, profile_id) per N-day window ending on each day
    (SlidingWindows of N days every day), same trigger and lateness as the daily windows. The
    sliding windows take one element per profile-day, not one per event: Beam's windowing costs
    per element and window (PLATFORM.md), and an event would sit in 7 + 28 of them."""

    def __init__(self, window_days: int, allowed_lateness_s: int = DEFAULT_ALLOWED_LATENESS_S):
        super().__init__()
        self.window_days = window_days
        self.allowed_lateness_s = allowed_lateness_s

    def expand(self, partials):
        return (
            partials
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
    """Lines -> dict of PCollections: daily, trailing_<n> for each window length, rejected, too_late."""

    def __init__(self, allowed_lateness_s: int = DEFAULT_ALLOWED_LATENESS_S, ingest_us: int | None = None,
                 window_lengths: tuple[int, ...] = WINDOW_LENGTHS):
        super().__init__()
        self.allowed_lateness_s = allowed_lateness_s
        self.ingest_us = ingest_us
        self.window_lengths = window_lengths

    def expand(self, lines):
        parsed = lines | "Parse" >> ParseStream(self.allowed_lateness_s, self.ingest_us)
        daily = parsed[EVENTS] | "Daily" >> WindowDailyEngagement(self.allowed_lateness_s)
        out = {
            "daily": daily["daily"],
            "rejected": parsed[REJECTED_TAG],
            "too_late": parsed[TOO_LATE],
        }
        for n in self.window_lengths:
            out[f"trailing_{n}"] = daily[PARTIALS] | f"Trailing{n}" >> WindowTrailingEngagement(n, self.allowed_lateness_s)
        return out


def _starts_from(row: dict, complete_from_day: int) -> bool:
    """Does the window of this row (daily `day`, or trailing `window_end` and `window_days`) start
    on or after `complete_from_day`?"""
    if "day" in row:
        first_day = day_number(date.fromisoformat(row["day"]))
    else:
        first_day = day_number(date.fromisoformat(row["window_end"])) - row["window_days"] + 1
    return first_day >= complete_from_day


class WriteStreamOutputs(beam.PTransform):
    """StreamEngagement's outputs -> engagement_daily, engagement_trailing, rejected and
    stream_too_late partitions under the warehouse root.

    `complete_from_us` (a restart that did not replay every file earlier runs consumed): rows of
    windows starting before it are not written; the replay may hold only part of their events
    (`stream_manifest.complete_from_us`), so their rows stay as the earlier run wrote them.
    `horizon_key`: once the stream stops (LandingPoller), window rows ending after its horizon
    (the last event time seen, the wall clock) are dropped: no partition for a window that has
    not ended."""

    def __init__(self, warehouse_dir: str, allowed_lateness_s: int, run_id: str,
                 complete_from_us: int | None = None, horizon_key: str = ""):
        super().__init__()
        self.warehouse_dir = warehouse_dir
        self.allowed_lateness_s = allowed_lateness_s
        self.run_id = run_id
        self.complete_from_us = complete_from_us
        self.horizon_key = horizon_key

    def _writable(self, rows, label: str):
        if self.complete_from_us is not None:
            first_day = -(-self.complete_from_us // US_PER_DAY)  # the first whole day after it
            rows = rows | f"Complete{label}" >> beam.Filter(_starts_from, first_day)
        if self.horizon_key:
            rows = rows | f"Ended{label}" >> beam.Filter(ends_by_horizon, self.horizon_key)
        return rows

    def expand(self, outputs):
        wh, lateness, run_id = self.warehouse_dir, self.allowed_lateness_s, self.run_id
        written = [
            self._writable(outputs["daily"], "Daily") | "WriteDaily" >> WriteStreamPartitions(
                wh, ENGAGEMENT_DAILY, ("platform", "profile_id"), lateness)
        ]
        trailing = [v for k, v in sorted(outputs.items()) if k.startswith("trailing_")]
        if trailing:
            written.append(
                self._writable(trailing | "AllTrailing" >> beam.Flatten(), "Trailing")
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

DEFAULT_OUT_OF_ORDERNESS_S = 3600
DEFAULT_GRACE_S = 60
_EVENT_TIME_AT = parse.EVENT_COLUMNS.index("event_time")


def peek_event_us(raw: bytes, arrival_us: int) -> int | None:
    """The event time of a raw line as the parser will accept it, or None for a line it rejects
    (a rejected line, e.g. a planted `negative_count` dated next week, must not move the
    watermark). The full parse costs ~20 us a line, small beside a line's cost in the pipeline."""
    row = parse.parse_line(raw, arrival_us)
    if row is None or isinstance(row, parse.Reject):
        return None
    return row[_EVENT_TIME_AT]


class EventTimeClock:
    """The stream's watermark: the largest event time seen minus a bounded out-of-orderness,
    never ahead of the wall clock at arrival, never going back. It moves after each landing file,
    so the watermark a line meets depends only on the order files were consumed (the manifest
    keeps it): a restart that replays the same files in the same order makes the same decisions.
    `last_event_us` is the largest event time seen: on stop, no window ending after it (or after
    the wall clock) is written."""

    def __init__(self, out_of_orderness_s: int):
        self.out_of_orderness_us = out_of_orderness_s * US_PER_S
        self.watermark_us: int | None = None  # None: before any event, lines are stamped MIN_TIMESTAMP
        self.last_event_us: int | None = None

    def stamp_us(self) -> int:
        return self.watermark_us if self.watermark_us is not None else MIN_TIMESTAMP.micros

    def advance(self, lines: list, arrival_us: int) -> int | None:
        """Take in one file's lines (relpath, line_no, raw, arrival_us); the new watermark if it moved."""
        times = [t for t in (peek_event_us(line[2], arrival_us) for line in lines) if t is not None]
        if not times:
            return None
        top = max(times)
        self.last_event_us = top if self.last_event_us is None else max(self.last_event_us, top)
        candidate = min(self.last_event_us - self.out_of_orderness_us, arrival_us)
        if self.watermark_us is None or candidate > self.watermark_us:
            self.watermark_us = candidate
            return candidate
        return None


class LandingPoller:
    """Polls the landing directory and turns what landed into TestStream events: the lines of
    each new file (relpath, line_no, raw, arrival wall-clock micros), stamped with the current
    event-time watermark, then a watermark advance (EventTimeClock). Files are read one at a
    time in name order; files are immutable once landed (SPEC 2), so each is read once; files
    still being uploaded must be hidden (dot-named): `landing.discover` skips them.

    With a `manifest` (a `stream_manifest.StreamManifest`), "read once" holds across restarts:
    files earlier runs consumed are not read as new; those that arrived since `replay_from_us`
    are replayed first, in the order they were consumed, with their first arrival stamps, to
    rebuild the state of the windows (module docstring, "Restarts"); a file whose content changed
    since a run consumed it is logged as an error and skipped, as the nightly flow refuses it. A
    poll records the files it consumed in the manifest before it hands their lines on.

    `read_multiple` is the reader interface of Beam's TestStreamServiceController, whose gRPC
    service feeds an endpoint-backed TestStream: on BundleBasedDirectRunner that is the one
    unbounded source whose watermark a user can drive. `fileio.MatchContinuously` does not run
    there (docs/streaming.md, "Why not MatchContinuously locally"). `stop` (a threading.Event)
    ends it: a last watermark advance to the end of time, which fires every open window; the
    sink drops those that end after `clock.last_event_us` (WriteStreamOutputs)."""

    LINES_PER_EVENT = 5_000

    def __init__(self, landing_dir: str, poll_interval_s: float, stop_at_s: float | None = None,
                 manifest: stream_manifest.StreamManifest | None = None, replay_from_us: int | None = None,
                 out_of_orderness_s: int = DEFAULT_OUT_OF_ORDERNESS_S, stop: threading.Event | None = None):
        self.landing_dir = landing_dir
        self.poll_interval_s = poll_interval_s
        self.stop_at_s = stop_at_s
        self.stop = stop or threading.Event()
        self.manifest = manifest
        self.clock = EventTimeClock(out_of_orderness_s)
        self.stopped_at_us: int | None = None  # wall clock of the stop: no window ending after it is written
        self.seen: set[str] = set()  # relpaths decided in this process: consumed, known or refused
        self.unreadable: set[str] = set()
        self.replay: list[tuple[LandedFile, int]] = []  # (file, first arrival micros), arrival order
        self.files_read = 0
        self.lines_read = 0
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

    def _read(self, landed: LandedFile, arrival_us: int) -> list | None:
        """The file's (relpath, line_no, raw, arrival_us) lines, or None when it cannot be read (yet)."""
        try:
            lines = [(landed.relpath, n, raw, arrival_us) for n, raw in landing.iter_lines(landed.path)]
        except (OSError, EOFError) as exc:  # a truncated .gz or a vanished file: nothing of it is emitted
            if landed.relpath not in self.unreadable:
                _LOG.warning("unreadable landing file %s (retried every poll): %s", landed.relpath, exc)
            self.unreadable.add(landed.relpath)
            return None
        self.unreadable.discard(landed.relpath)
        return lines

    def _batches(self, lines: list) -> list[list]:
        return [lines[i:i + self.LINES_PER_EVENT] for i in range(0, len(lines), self.LINES_PER_EVENT)]

    def replay_files(self):
        """(relpath, lines) of the files to replay, in the order they were first consumed."""
        for landed, arrival_us in self.replay:
            lines = self._read(landed, arrival_us)
            if lines is not None:  # a replayed file that became unreadable: as if it were gone
                yield landed.relpath, lines
        self.replay = []

    def poll(self) -> list[tuple[str, list]]:
        """One poll -> [(relpath, lines)] of the files that landed since, in name order."""
        now_us = _now_us()
        unseen = sorted((f for f in landing.discover(Path(self.landing_dir)) if f.relpath not in self.seen),
                        key=lambda f: f.relpath)
        if self.manifest is not None:
            plan = self.manifest.classify(unseen)
            self._refuse(plan.changed)
            self.seen |= {f.relpath for f in unseen} - {f.relpath for f in plan.new}  # known: consumed before
            unseen = [f for f in unseen if f.relpath in {n.relpath for n in plan.new}]
        files, consumed = [], []
        for landed in unseen:
            lines = self._read(landed, now_us)
            if lines is None:
                continue
            self.seen.add(landed.relpath)
            consumed.append(landed)
            files.append((landed.relpath, lines))
        if self.manifest is not None:
            # Recorded before the lines are handed on: a run killed in between replays the file
            # at its restart (at-least-once into the pipeline; the sinks make it count once).
            self.manifest.record(consumed, plan.hashes, now_us)
        return files

    def events(self, files):
        """(kind, payload) steps for a list of (relpath, lines): ("lines", (stamp_us, batch)) and
        ("watermark", micros); the clock moves after each file."""
        for _, lines in files:
            stamp = self.clock.stamp_us()
            for batch in self._batches(lines):
                yield "lines", (stamp, batch)
            self.files_read += 1
            self.lines_read += len(lines)
            moved = self.clock.advance(lines, lines[-1][3] if lines else _now_us())
            if moved is not None:
                yield "watermark", moved

    def steps(self):
        """Every step of the stream: the replay, then polls until `stop` is set (or `stop_at_s`)."""
        yield from self.events(self.replay_files())
        while not self.stop.is_set():
            yield from self.events(self.poll())
            if self.stop_at_s is not None and time.time() >= self.stop_at_s:
                break
            self.stop.wait(self.poll_interval_s)
        self.stopped_at_us = _now_us()

    def read_multiple(self, keys, tail=True):
        from apache_beam.coders import FastPrimitivesCoder
        from apache_beam.portability.api import beam_runner_api_pb2
        from apache_beam.utils.timestamp import MAX_TIMESTAMP

        Event = beam_runner_api_pb2.TestStreamPayload.Event
        TimestampedElement = beam_runner_api_pb2.TestStreamPayload.TimestampedElement
        coder = FastPrimitivesCoder()
        for kind, payload in self.steps():
            if kind == "lines":
                stamp_us, lines = payload
                yield Event(element_event=Event.AddElements(elements=[
                    TimestampedElement(encoded_element=coder.encode(line), timestamp=stamp_us) for line in lines]))
            else:
                yield Event(watermark_event=Event.AdvanceWatermark(new_watermark=payload))
        # Stop: the horizon first (read by the sink), then the end of time, which fires every window.
        set_horizon(self.horizon_key, self.horizon_us())
        yield Event(watermark_event=Event.AdvanceWatermark(new_watermark=MAX_TIMESTAMP.micros))

    horizon_key: str = ""

    def horizon_us(self) -> int:
        """The latest window end the stream may write once stopped: the last event time seen, and
        never after the wall clock (no partition for a day that has not ended)."""
        now_us = self.stopped_at_us or _now_us()
        last = self.clock.last_event_us
        return now_us if last is None else min(last, now_us)


# The stop horizon of each running stream, by run id: the poller sets it just before the final
# watermark; the sink reads it. Process-local, like the TestStream service that feeds the poller.
_HORIZONS: dict[str, int] = {}


def set_horizon(key: str, horizon_us: int) -> None:
    if key:
        _HORIZONS[key] = horizon_us


def ends_by_horizon(row: dict, key: str) -> bool:
    """False for a window row (daily `day` or trailing `window_end`) ending after the stop horizon."""
    horizon = _HORIZONS.get(key)
    if horizon is None:
        return True
    last_day = row["day"] if "day" in row else row["window_end"]
    end_us = (day_number(date.fromisoformat(last_day)) + 1) * US_PER_DAY
    return end_us <= horizon


class WatchLanding(beam.PTransform):
    """The landing directory as an unbounded PCollection of lines (relpath, line_no, raw,
    arrival_us), stamped with the event-time watermark they met (LandingPoller). The gRPC service
    is local (localhost) and lives as long as the transform object; call `stop()` after the
    pipeline ends. `poll_interval_s` must stay well under 30 s (the TestStream's idle timeout).
    `manifest`, `replay_from_us`, `out_of_orderness_s` and `stop`: see LandingPoller."""

    def __init__(self, landing_dir: str, poll_interval_s: float, stop_after_s: float | None = None,
                 manifest: stream_manifest.StreamManifest | None = None, replay_from_us: int | None = None,
                 out_of_orderness_s: int = DEFAULT_OUT_OF_ORDERNESS_S, stop: threading.Event | None = None,
                 horizon_key: str = ""):
        super().__init__()
        if not 0 < poll_interval_s <= 20:
            raise ValueError("poll_interval_s must be in (0, 20] seconds")
        self.poller = LandingPoller(str(Path(landing_dir).resolve()), poll_interval_s, None, manifest,
                                    replay_from_us, out_of_orderness_s, stop)
        self.poller.horizon_key = horizon_key
        self.stop_after_s = stop_after_s
        self.service = None

    def expand(self, pbegin):
        from apache_beam.testing.test_stream import TestStream
        from apache_beam.testing.test_stream_service import TestStreamServiceController

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


class StopSignals:
    """SIGTERM and SIGINT (from a terminal or a supervisor: installed even when the parent left
    SIGINT ignored) set `stop`: the stream drains, writes the complete windows and returns. A
    second signal, or a drain longer than `grace_s`, ends the process at once with 128 + signal
    (143 for SIGTERM, 130 for SIGINT); every partition and the manifest are swapped atomically,
    so what readers see is the last state written in full."""

    def __init__(self, stop: threading.Event, grace_s: float, tell=None):
        self.stop = stop
        self.grace_s = grace_s
        self.tell = tell or (lambda message: None)
        self.previous: dict = {}
        self.first: int | None = None

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                self.previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc):
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)
        return False

    def _handle(self, signum, frame):
        if self.first is not None:
            self.tell(f"second signal ({signal.Signals(signum).name}): exiting now")
            os._exit(128 + signum)
        self.first = signum
        self.tell(f"{signal.Signals(signum).name}: draining (grace {self.grace_s:g} s); a second signal exits now")
        self.stop.set()
        timer = threading.Timer(self.grace_s, self._overrun, args=(signum,))
        timer.daemon = True
        timer.start()

    def _overrun(self, signum):
        self.tell(f"drain took longer than the grace period ({self.grace_s:g} s): exiting now")
        os._exit(128 + signum)


def run_stream(landing_dir, warehouse_dir, allowed_lateness_s: int = DEFAULT_ALLOWED_LATENESS_S,
               beam_args: list[str] | None = None, poll_interval_s: float = 10.0,
               stop_after_s: float | None = None, progress=None,
               out_of_orderness_s: int = DEFAULT_OUT_OF_ORDERNESS_S, grace_s: float = DEFAULT_GRACE_S,
               stop: threading.Event | None = None):
    """Watch `landing_dir` and keep the warehouse's engagement partitions current until SIGTERM or
    SIGINT (or `stop` is set, or `stop_after_s` seconds of polling have passed): then it drains,
    writes every window that ends by the last event time seen (never a day not yet over) and
    returns; a second signal or a drain longer than `grace_s` exits the process at once.
    Holds the warehouse's writer lock the whole time: the nightly flow and the stream must not
    write at once. Resumes from the stream manifest (module docstring, "Restarts");
    `progress(message)`, if given, is told what the resume found and when a signal arrives."""
    from storage.warehouse import Warehouse

    warehouse = Warehouse.at(warehouse_dir)
    warehouse.root.mkdir(parents=True, exist_ok=True)
    started_us = _now_us()
    run_id = "stream-" + datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
    stop = stop or threading.Event()
    tell = progress or (lambda message: None)
    with warehouse.lock(), StopSignals(stop, grace_s, tell):
        for stale in (warehouse.root / "_staging").glob("stream-*"):
            shutil.rmtree(stale, ignore_errors=True)  # swaps a killed stream never finished
        manifest = stream_manifest.StreamManifest(warehouse, run_id)
        since_us = stream_manifest.replay_from_us(started_us, allowed_lateness_s)
        pipeline = beam.Pipeline(options=streaming_options(beam_args))
        watch = WatchLanding(str(landing_dir), poll_interval_s, stop_after_s, manifest, since_us,
                             out_of_orderness_s, stop, horizon_key=run_id)
        outputs = (
            pipeline
            | "WatchLanding" >> watch
            | "Engagement" >> StreamEngagement(allowed_lateness_s)
        )
        complete_from = stream_manifest.complete_from_us(manifest.table, since_us)
        _ = outputs | "Write" >> WriteStreamOutputs(str(warehouse.root), allowed_lateness_s, run_id,
                                                    complete_from, horizon_key=run_id)
        if manifest.table.num_rows:
            tell(f"resuming: {manifest.table.num_rows} landing file(s) consumed by earlier stream runs are "
                 f"skipped; {len(watch.poller.replay)} of them replayed to rebuild the windows")
        result = pipeline.run()
        try:
            result.wait_until_finish()
        finally:
            watch.stop()
            _HORIZONS.pop(run_id, None)
        tell(f"stopped: {watch.poller.files_read} file(s), {watch.poller.lines_read} line(s) read")
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
