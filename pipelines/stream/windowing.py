"""Lines -> events in event time -> daily and trailing window panes (the stream's composites)."""

from __future__ import annotations

import apache_beam as beam
import pyarrow as pa
import pyarrow.compute as pc
from apache_beam.metrics import Metrics
from apache_beam.transforms.trigger import AccumulationMode, AfterCount, AfterWatermark
from apache_beam.transforms.window import FixedWindows, SlidingWindows, TimestampedValue
from apache_beam.typehints import Any
from apache_beam.utils.timestamp import MIN_TIMESTAMP, Duration, Timestamp
from apache_beam.utils.windowed_value import PaneInfoTiming

from ingest import dedup, parse, tables
from pipelines import engagement
from pipelines.stream.options import DEFAULT_ALLOWED_LATENESS_S
from pipelines.stream.options import day_iso as _day_iso
from pipelines.stream.options import now_us as _now_us
from schemas.datasets import METRIC_NAMES
from schemas.units import DAY_S, US_PER_DAY, WINDOW_LENGTHS

EVENTS = "events"
REJECTED_TAG = "rejected"
TOO_LATE = "too_late"

_I = {name: i for i, name in enumerate(parse.EVENT_COLUMNS)}


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

    def __init__(
        self, allowed_lateness_s: int, ingest_us: int | None = None, min_event_us: int | None = None
    ):
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
                REJECTED_TAG,
                (source_file, number, parse.raw_text(raw), result.reason, result.detail, ingest_us),
            )
            return
        event_us = result[_I["event_time"]]
        day_end_s = (event_us // US_PER_DAY + 1) * DAY_S
        if Timestamp(day_end_s + self.allowed_lateness_s) <= arrival:
            self.too_late.inc()
            detail = (
                f"event day {_day_iso(day_end_s // DAY_S - 1)} closed at "
                f"{Timestamp(day_end_s + self.allowed_lateness_s).to_rfc3339()} (allowed lateness "
                f"{self.allowed_lateness_s} s); the line arrived at {arrival.to_rfc3339()}"
            )
            yield beam.pvalue.TaggedOutput(
                TOO_LATE, (source_file, number, parse.raw_text(raw), "too_late", detail, ingest_us)
            )
            return
        yield TimestampedValue((result, source_file, number), Timestamp(micros=event_us))


class ParseStream(beam.PTransform):
    """Lines -> events (main output `events`), `rejected` and `too_late` dead-letter tuples."""

    def __init__(
        self,
        allowed_lateness_s: int = DEFAULT_ALLOWED_LATENESS_S,
        ingest_us: int | None = None,
        min_event_us: int | None = None,
    ):
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
        yield {
            "platform": platform,
            "profile_id": profile_id,
            "day": _day_iso(day),
            **_metrics(daily),
            **_pane_fields(pane),
        }
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
        trailing = engagement.trailing_engagement(
            daily, engagers, end_day, recompute_from=end_day, lengths=(self.window_days,)
        )
        trailing = trailing.filter(
            pc.equal(trailing["window_end"], pa.scalar(end_day, pa.int32()).cast(pa.date32()))
        )
        if trailing.num_rows != 1:
            return
        yield {
            "platform": platform,
            "profile_id": profile_id,
            "window_days": self.window_days,
            "window_end": _day_iso(end_day),
            **_metrics(trailing),
            **_pane_fields(pane),
        }


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
            | "DailyMetrics"
            >> beam.ParDo(DailyPaneFn()).with_output_types(Any).with_outputs(PARTIALS, main="daily")
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
            | "SlidingWindows"
            >> _window_spec(SlidingWindows(self.window_days * DAY_S, DAY_S), self.allowed_lateness_s)
            | "GroupWindow" >> beam.GroupByKey()
            | "TrailingMetrics" >> beam.ParDo(TrailingPaneFn(self.window_days))
        )


# --- the whole streaming pipeline ----------------------------------------------------------------


class StreamEngagement(beam.PTransform):
    """Lines -> dict of PCollections: daily, trailing_<n> for each window length, rejected, too_late."""

    def __init__(
        self,
        allowed_lateness_s: int = DEFAULT_ALLOWED_LATENESS_S,
        ingest_us: int | None = None,
        window_lengths: tuple[int, ...] = WINDOW_LENGTHS,
    ):
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
            out[f"trailing_{n}"] = daily[PARTIALS] | f"Trailing{n}" >> WindowTrailingEngagement(
                n, self.allowed_lateness_s
            )
        return out
