"""Lines -> events in event time -> daily and trailing window panes (the stream's composites)."""

from __future__ import annotations

import apache_beam as beam
import pyarrow as pa
import pyarrow.compute as pc
from apache_beam.coders import PickleCoder
from apache_beam.metrics import Metrics
from apache_beam.transforms.trigger import AccumulationMode, AfterCount, AfterWatermark
from apache_beam.transforms.userstate import ReadModifyWriteStateSpec
from apache_beam.transforms.window import FixedWindows, SlidingWindows, TimestampedValue
from apache_beam.typehints import Any, Tuple
from apache_beam.utils.timestamp import MIN_TIMESTAMP, Duration, Timestamp
from apache_beam.utils.windowed_value import PaneInfoTiming

from ingest import dedup, parse, tables
from pipelines import engagement
from pipelines.stream import counters
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
        if counters.post_key_of(result) is not None:
            # what BookPostCounters needs: the watermark stamp the line met (its too-late rule),
            # the raw text (a dead letter, the stored state) and the wall-clock arrival
            late_info = (arrival.micros, parse.raw_text(raw), ingest_us)
            yield TimestampedValue((result, source_file, number, late_info), Timestamp(micros=event_us))
            return
        yield TimestampedValue((result, source_file, number), Timestamp(micros=event_us))


class ParseStream(beam.PTransform):
    """Lines -> events (main output `events`), `rejected` and `too_late` dead-letter tuples. An
    event of a post (its post, observations, interactions) carries a fourth item for
    BookPostCounters: (arrival stamp micros, raw text, wall-clock arrival micros)."""

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


# --- post counters -----------------------------------------------------------------------------

DAY_SETS = "day_sets"
STORED = "stored"


class PostCountersFn(beam.DoFn):
    """((platform, profile_id, post_id), event with its late_info) -> the event (main output,
    stamped with its event_time), and to `day_sets` ((platform, profile_id), counters.DaySet)
    stamped at the start of each day whose bookings the event changed; to `stored` the rows of
    storage.stream_posts it adds; a refused event (a change on a closed day, counters.apply) to
    `too_late` instead of anywhere else.

    Stateful per post in the global window: the state is the post's counter history
    (counters.PostCounters), which spans days. `seed`: the states earlier runs left (from
    storage.stream_posts), taken the first time a post is seen."""

    STATE = ReadModifyWriteStateSpec("post_counters", PickleCoder())

    def __init__(self, allowed_lateness_s: int, seed: dict | None = None):
        self.allowed_lateness_s = allowed_lateness_s
        self.seed = seed or {}
        self.too_late = Metrics.counter("microradar", "stream_too_late")

    def process(self, keyed, post_state=beam.DoFn.StateParam(STATE)):
        key, (row, source_file, number, (arrival_us, raw, ingest_us)) = keyed
        held = post_state.read()
        state = held if held is not None else self.seed.get(key) or counters.PostCounters()
        event = (row, source_file, number)
        change = counters.apply(state, event, arrival_us, self.allowed_lateness_s)
        if not isinstance(change, counters.Change):
            self.too_late.inc()
            days = ", ".join(_day_iso(d) for d in change)
            detail = (
                f"its counters would re-book {days}, closed (allowed lateness {self.allowed_lateness_s} s) "
                f"when the line arrived at {Timestamp(micros=arrival_us).to_rfc3339()}"
            )
            yield beam.pvalue.TaggedOutput(
                TOO_LATE, (source_file, number, raw, "too_late", detail, ingest_us)
            )
            return
        if change.state is not state or held is None:
            post_state.write(change.state)
        if row[_I["event_type"]] in counters.HISTORY_TYPES:
            stored = counters.stored_row(key, ingest_us, line=(source_file, number, raw))
            yield beam.pvalue.TaggedOutput(STORED, stored)
        elif change.state is not state:  # a new interaction day of its kind
            kind = engagement.KIND_OF_EVENT[row[_I["event_type"]]]
            day = row[_I["event_time"]] // US_PER_DAY
            yield beam.pvalue.TaggedOutput(STORED, counters.stored_row(key, ingest_us, kind_day=(kind, day)))
        version = change.state.version
        for day, rows in change.day_sets.items():
            day_set = counters.DaySet(key, day, version, rows)
            yield beam.pvalue.TaggedOutput(
                DAY_SETS, TimestampedValue(((key[0], key[1]), day_set), Timestamp(micros=day * US_PER_DAY))
            )
        yield TimestampedValue(event, Timestamp(micros=row[_I["event_time"]]))


class BookPostCounters(beam.PTransform):
    """Events of posts (ParseStream's with a fourth item) -> the accepted events (main output
    `events`), `day_sets` for the day windows, `stored` rows and refused `too_late` dead letters
    (PostCountersFn). See pipelines/stream/counters.py for the rule."""

    def __init__(self, allowed_lateness_s: int = DEFAULT_ALLOWED_LATENESS_S, seed: dict | None = None):
        super().__init__()
        self.fn = PostCountersFn(allowed_lateness_s, seed)

    def expand(self, events):
        return (
            events
            | "KeyByPost"
            >> beam.Map(lambda e: (counters.post_key_of(e[0]), e)).with_output_types(
                Tuple[Tuple[str, str, str], Any]
            )
            | "PostCounters"
            >> beam.ParDo(self.fn)
            .with_output_types(Any)
            .with_outputs(DAY_SETS, STORED, TOO_LATE, main=EVENTS)
        )


# --- windows -----------------------------------------------------------------------------------


def window_events_table(events) -> pa.Table:
    """A pane's events (row, source_file, line_no) -> one EVENT_ROW_SCHEMA table (lineage kept)."""
    by_file: dict[str, tuple[list, list]] = {}
    for row, source_file, number, *_ in events:
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
    """((platform, profile_id), the day window's events and counter day sets so far) -> the day's
    full engagement row (each post's newest day set is the day's counter bookings);
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
        (platform, profile_id), elements = keyed
        day = int(window.start.micros // US_PER_DAY)
        events, day_sets = [], []
        for e in elements:
            (day_sets if isinstance(e, counters.DaySet) else events).append(e)
        table = window_events_table(events) if events else tables.events_table([], "", [])
        kept, stats = dedup.deduplicate(table.append_column(tables.IS_NEW, pa.array([True] * table.num_rows)))
        if pane.is_first or stats.duplicates:
            self.duplicates.inc(stats.duplicates)
        # the posts' counter bookings on this day, as the batch books them over their whole history
        bookings = counters.bookings_table(counters.latest_day_sets(day_sets))
        daily, engagers = engagement.daily_engagement(kept, as_of_day=day, first_day=day, bookings=bookings)
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
    """Events, or (events, day sets keyed by profile) from BookPostCounters -> one row per
    (platform, profile_id) per UTC day and pane (main output `daily`): an
    on-time pane when the watermark passes midnight, then a late pane (the whole accumulated day
    again) for each late event within `allowed_lateness_s`; and the day's `partials` for the
    trailing windows."""

    def __init__(self, allowed_lateness_s: int = DEFAULT_ALLOWED_LATENESS_S):
        super().__init__()
        self.allowed_lateness_s = allowed_lateness_s

    def expand(self, inputs):
        # events, or (events, day sets keyed by profile) from BookPostCounters
        events, day_sets = inputs if isinstance(inputs, tuple) else (inputs, None)
        keyed = events | "KeyByProfile" >> beam.Map(_key_by_profile)
        if day_sets is not None:
            keyed = (keyed, day_sets) | "WithDaySets" >> beam.Flatten()
        return (
            keyed
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
    """Lines -> dict of PCollections: daily, trailing_<n> for each window length, rejected,
    too_late, and post_state (storage.stream_posts rows). `seed`: per-post counter states an
    earlier run left (counters.seed_states)."""

    def __init__(
        self,
        allowed_lateness_s: int = DEFAULT_ALLOWED_LATENESS_S,
        ingest_us: int | None = None,
        window_lengths: tuple[int, ...] = WINDOW_LENGTHS,
        seed: dict | None = None,
    ):
        super().__init__()
        self.seed = seed
        self.allowed_lateness_s = allowed_lateness_s
        self.ingest_us = ingest_us
        self.window_lengths = window_lengths

    def expand(self, lines):
        parsed = lines | "Parse" >> ParseStream(self.allowed_lateness_s, self.ingest_us)
        split = parsed[EVENTS] | "OfPosts" >> beam.Partition(lambda e, n: int(len(e) == 4), 2)
        booked = split[1] | "Counters" >> BookPostCounters(self.allowed_lateness_s, self.seed)
        events = (split[0], booked[EVENTS]) | "AllEvents" >> beam.Flatten()
        daily = (events, booked[DAY_SETS]) | "Daily" >> WindowDailyEngagement(self.allowed_lateness_s)
        out = {
            "daily": daily["daily"],
            "rejected": parsed[REJECTED_TAG],
            "too_late": (parsed[TOO_LATE], booked[TOO_LATE]) | "AllTooLate" >> beam.Flatten(),
            "post_state": booked[STORED],
        }
        for n in self.window_lengths:
            out[f"trailing_{n}"] = daily[PARTIALS] | f"Trailing{n}" >> WindowTrailingEngagement(
                n, self.allowed_lateness_s
            )
        return out
