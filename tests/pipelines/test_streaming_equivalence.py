"""Issue #5 equivalence: the generator's landing lines replayed through a TestStream in arrival
order (its late deliveries included) end with the same window rows as the batch pipeline.

The sample: the generator's smallest plan (it needs >= 8 profiles and >= 28 days), of which the
first REPLAY_DAYS landing directories are used, for the batch run and for the stream alike. Those
directories hold the events of their days, except the deliveries that land after the last of
them, and the generator's dirt: late deliveries (1 to 3 landing days after the event's day),
byte-identical re-deliveries (the same or a later landing day), conflicting duplicates (same
file), malformed and blank lines. No valid event in them is dated after the last landing day.

Arrival: the watermark moves to the last second of landing day D (D 23:59:59 UTC), all of D's
files arrive then (sorted, each in line order, every line stamped with that time), and the
watermark passes midnight: the on-time panes of D's windows fire. Each later delivery is late
data for the windows of its event's day, which fire again (accumulating: the whole window).
With the default allowed lateness (3 days), an event of day d delivered 3 landing days late
arrives at d+3 23:59:59, one second before its day's lateness runs out (d+1 00:00 + 3 days): the
generator's latest first deliveries are within the lateness. Only a byte-identical re-delivery
can land later (up to 3 landing days after a copy that was itself late: 6 days after its day);
the stream routes such a line to `too_late` where batch counts a duplicate. Either way it adds
nothing to a window; the test predicts those lines.

The stream deduplicates within each profile-day by the batch rule (ingest/dedup.py); the
generator's conflicting copies are likes moved by a few seconds within the same UTC day, same
profile and actor, so they meet in one profile-day.

Per generator mode (MODES): events; mixed (YouTube observed: post counters, the others events);
observation (every platform observed, all its days replayed: each post's counters are read 1, 3
and 7 days after it, some of them delivered late, so out-of-order observations re-book their day
and the next observation's). The batch side books the counters as the nightly flow plans them;
the stream's per-post state (pipelines/stream/counters.py) must reach the same rows, and must
refuse nothing beyond the predicted too-late re-deliveries.

Runners are named: BundleBasedDirectRunner --streaming for the stream, FnApiRunner for batch.
"""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import apache_beam as beam
import pyarrow.parquet as pq
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.test_stream import TestStream
from apache_beam.testing.util import BeamAssertException, assert_that
from apache_beam.transforms.window import TimestampedValue

from ingest import landing, parse, tables
from pipelines import batch, engagement, streaming
from planning import nights
from schemas.datasets import ENGAGEMENT_DAILY, ENGAGEMENT_TRAILING, METRIC_NAMES
from schemas.units import LOOKBACK_DAYS, WINDOW_LENGTHS, day_number
from storage import counters
from storage.parquet import write_parquet
from tools.generator import generate_landing

END = date(2026, 11, 24)  # the generator's end_date: fixed, so the test does not depend on today
PROFILES, GENERATED_DAYS, SEED = 8, 28, 30  # the generator's minimum plan; seed: see the sample checks
REPLAY_DAYS = 4  # landing directories replayed: every late delivery of the first day is in them
# Per generator mode: events (every like with its liker), mixed (YouTube observed: post counters
# and rounded sparse follower counts; the others events), observation (every platform observed;
# few lines, so all its days are replayed: each post's counters are read 1, 3 and 7 days on).
MODES = {"events": REPLAY_DAYS, "mixed": REPLAY_DAYS, "observation": GENERATED_DAYS}
LATENESS_S = streaming.DEFAULT_ALLOWED_LATENESS_S  # 3 days: the generator's first copies land <= 3 days late
RUNNER = ["--runner=FnApiRunner"]
DAY_S = 86_400
US = 1_000_000
_EVENT_TIME = parse.EVENT_COLUMNS.index("event_time")
_EVENT_TYPE = parse.EVENT_COLUMNS.index("event_type")

DAILY_KEY = ("platform", "profile_id", "day")
TRAILING_KEY = ("platform", "profile_id", "window_days", "window_end")


def _midnight_s(d: date) -> int:
    return int(datetime.combine(d, time(), tzinfo=UTC).timestamp())


@pytest.fixture(scope="module", params=sorted(MODES))
def sample(request, tmp_path_factory):
    """The replayed landing files, grouped by landing day, and the run's dates."""
    root = tmp_path_factory.mktemp("equivalence")
    summary = generate_landing(
        root / "gen", profiles=PROFILES, days=GENERATED_DAYS, seed=SEED, end_date=END, mode=request.param
    )
    files = landing.discover(summary.landing_dir)  # relpath "YYYY-MM-DD/<platform>-<n>.<ext>", sorted
    by_day = {
        date.fromisoformat(day): list(group)
        for day, group in itertools.groupby(files, key=lambda f: f.relpath.split("/")[0])
    }
    replay_days = MODES[request.param]
    days = sorted(by_day)[:replay_days]
    assert days[0] == summary.start_date and days == [days[0] + timedelta(days=i) for i in range(replay_days)]
    as_of = days[-1]
    # The nightly run the morning after the last landing day; the stream gets the same fixed
    # ingest moment, so `future_event` verdicts agree.
    ingest_us = (_midnight_s(as_of + timedelta(days=1)) + 6 * 3600) * US
    return {
        "root": root,
        "by_day": {d: by_day[d] for d in days},
        "first_day": days[0],
        "as_of": as_of,
        "ingest_us": ingest_us,
        "mode": request.param,
    }


@pytest.fixture(scope="module")
def batch_run(sample):
    """run_ingest + run_merge over the replayed files; the staged engagement Parquet as expected rows."""
    staging = sample["root"] / "staging"
    files = [f for fs in sample["by_day"].values() for f in fs]
    ingest = batch.run_ingest(
        batch.IngestJob(files, str(staging), "equivalence", sample["ingest_us"], 2, RUNNER)
    )
    # The counters' bookings as the nightly flow plans them (flows.tasks.plan_counters on a first
    # night): over the posts' whole observation history, with a marker per countered (post, kind).
    history = counters.observation_history({}, batch.candidate_files(str(staging)))
    bookings = nights.bookings_for_days(
        engagement.counter_bookings(history.after),
        day_number(sample["first_day"]) - LOOKBACK_DAYS,
        day_number(sample["as_of"]),
        set(),
    )
    bookings_file = staging / "bookings.parquet"
    write_parquet(bookings, bookings_file)
    merge = batch.run_merge(
        batch.MergeJob(
            bookings_file=str(bookings_file),
            candidate_files=batch.candidate_files(str(staging)),
            touched_event_files=[],
            context_event_files=[],
            staging_dir=str(staging),
            run_id="equivalence",
            as_of=sample["as_of"],
            recompute_from=sample["first_day"],
            num_buckets=2,
            beam_args=RUNNER,
        )
    )
    return {
        "daily": _batch_rows(staging, ENGAGEMENT_DAILY, DAILY_KEY),
        "trailing": _batch_rows(staging, ENGAGEMENT_TRAILING, TRAILING_KEY),
        "counts": batch.run_report_counts(ingest, merge),
    }


def _batch_rows(staging: Path, dataset, key_columns) -> dict[tuple, tuple]:
    """Hive partition dirs `<partition>=<ISO date>` -> {key: metrics}; the partition value from the path."""
    rows: dict[tuple, tuple] = {}
    for part in sorted((staging / dataset.name).glob(f"{dataset.partition}=*")):
        value = part.name.split("=", 1)[1]
        for f in sorted(part.glob("*.parquet")):
            for r in pq.read_table(f).to_pylist():
                r[dataset.partition] = value
                key = tuple(r[c] for c in key_columns)
                assert key not in rows, f"batch wrote {key} twice"
                rows[key] = tuple(r[m] for m in METRIC_NAMES)
    return rows


def _replay(sample) -> tuple[TestStream, dict]:
    """Landing day by landing day D: the watermark to D 23:59:59, the lines of D's files (sorted, each
    in file order) stamped with that time, then the watermark to midnight. Also returns what the
    replay holds: valid lines that are late deliveries (event day before the landing day), and the
    lines ParseStream's rule sends to `too_late` (event day end + lateness <= arrival), each with
    whether an earlier line already delivered its (platform, event_id)."""
    stream = TestStream()
    late, too_late, seen = 0, {}, set()
    observations = late_observations = 0
    platform, event_id = parse.EVENT_COLUMNS.index("platform"), parse.EVENT_COLUMNS.index("event_id")
    for day, files in sample["by_day"].items():
        arrival_s = _midnight_s(day) + DAY_S - 1
        lines = [(f.relpath, n, raw) for f in files for n, raw in landing.iter_lines(f.path)]
        for relpath, n, raw in lines:
            row = parse.parse_line(raw, sample["ingest_us"])
            if row is None or isinstance(row, parse.Reject):
                continue
            event_day = row[_EVENT_TIME] // tables.US_PER_DAY
            late += event_day < _midnight_s(day) // DAY_S
            observation = row[_EVENT_TYPE] == "post_metrics"
            observations += observation
            late_observations += observation and event_day < _midnight_s(day) // DAY_S
            key = (row[platform], row[event_id])
            if (event_day + 1) * DAY_S + LATENESS_S <= arrival_s:
                too_late[(relpath, n)] = key in seen
            seen.add(key)
        stream = (
            stream.advance_watermark_to(arrival_s)
            .add_elements([TimestampedValue(line, arrival_s) for line in lines])
            .advance_watermark_to(arrival_s + 1)
        )  # midnight: D's windows fire on time
    return stream.advance_watermark_to_infinity(), {
        "late_lines": late,
        "too_late": too_late,
        "observations": observations,
        "late_observations": late_observations,
    }


def _final_panes(rows, key_columns, last_end: str | None = None) -> dict[tuple, tuple]:
    """Last pane per key: panes accumulate, so the last one holds the whole window."""
    best: dict[tuple, dict] = {}
    for r in rows:
        key = tuple(r[c] for c in key_columns)
        if last_end is not None and key[-1] > last_end:
            continue
        if key not in best or r["pane_index"] > best[key]["pane_index"]:
            best[key] = r
    return {k: tuple(r[m] for m in METRIC_NAMES) for k, r in best.items()}


def _equals(expected: dict[tuple, tuple], key_columns, last_end: str | None = None):
    def check(actual):
        got = _final_panes(actual, key_columns, last_end)
        if got == expected:
            return
        missing = sorted(set(expected) - set(got))
        extra = sorted(set(got) - set(expected))
        differ = [
            (k, dict(zip(METRIC_NAMES, expected[k])), dict(zip(METRIC_NAMES, got[k])))
            for k in sorted(set(expected) & set(got))
            if expected[k] != got[k]
        ]
        raise BeamAssertException(
            f"stream != batch ({len(expected)} batch rows): {len(missing)} missing, e.g. {missing[:3]}; "
            f"{len(extra)} extra, e.g. {extra[:3]}; {len(differ)} differ, e.g. (key, batch, stream) {differ[:2]}"
        )

    return check


def _some_late_pane(rows):
    if not any(r["pane_timing"] == "LATE" for r in rows):
        raise BeamAssertException("no late pane: the late deliveries did not re-fire any day window")


def _is_count(expected: int, what: str):
    def check(actual):
        if len(actual) != expected:
            raise BeamAssertException(
                f"{what}: stream {len(actual)}, batch {expected}; e.g. {list(actual)[:3]}"
            )

    return check


def _same_set(expected: set, what: str):
    def check(actual):
        got = set(actual)
        if got != expected or len(actual) != len(got):
            raise BeamAssertException(
                f"{what}: stream {sorted(actual)[:5]} ({len(actual)}), "
                f"expected {sorted(expected)[:5]} ({len(expected)})"
            )

    return check


def _by_reason(expected: dict[str, int]):
    def check(actual):
        got = dict(Counter(r[3] for r in actual))
        if got != expected:
            raise BeamAssertException(f"rejected lines by reason: stream {got}, batch {expected}")

    return check


def test_generator_replay_in_arrival_order_ends_with_the_batch_window_rows(sample, batch_run):
    stream, replay = _replay(sample)
    too_late = replay["too_late"]
    expected_daily, expected_trailing = batch_run["daily"], batch_run["trailing"]
    as_of = sample["as_of"].isoformat()
    counts = batch_run["counts"]
    # The sample must exercise what the test is about.
    assert replay["late_lines"] >= (10 if sample["mode"] != "observation" else 5), replay["late_lines"]
    # The generator delivers a first copy at most 3 days late: whatever the stream finds too late
    # must be a re-delivery of an event it already has (else its windows would lack that event).
    assert all(too_late.values()), [line for line, redelivered in too_late.items() if not redelivered]
    assert counts["duplicates"] >= 3 and counts["rejected"], counts
    if sample["mode"] == "events":  # mixed: the generator's conflicting copies fall outside the 4 days
        assert counts["conflicting_duplicates"] >= 1, counts
    if sample["mode"] == "mixed":  # events and observations side by side
        assert replay["observations"] >= 1 and replay["late_lines"] >= 10, replay
    if sample["mode"] == "observation":  # observations, some late: counters re-booked out of order
        assert replay["observations"] >= 100 and replay["late_observations"] >= 3, replay
        assert counts["conflicting_duplicates"] >= 1, counts  # copies of observations moved by seconds
    assert len(expected_daily) >= PROFILES * (REPLAY_DAYS - 1)
    assert {k[2] for k in expected_trailing} == {7, 14, 28}

    options = PipelineOptions(["--runner=BundleBasedDirectRunner", "--streaming"])
    with TestPipeline(options=options) as p:
        out = p | stream | streaming.StreamEngagement(LATENESS_S, sample["ingest_us"])
        assert_that(out["daily"], _equals(expected_daily, DAILY_KEY), label="daily equals batch")
        # Batch computes the windows ending on each day from the first day to as_of. The stream
        # also emits the sliding windows that end after as_of (they still hold the last days'
        # events, e.g. the 28-day window ending as_of + 27): no batch row exists for those ends
        # yet, so only ends <= as_of are compared. Every batch row must be there, nothing else.
        trailing = tuple(out[f"trailing_{n}"] for n in WINDOW_LENGTHS)
        assert_that(
            trailing | "AllTrailing" >> beam.Flatten(),
            _equals(expected_trailing, TRAILING_KEY, last_end=as_of),
            label="trailing equals batch",
        )
        # Late deliveries did re-fire windows; too late were exactly the predicted re-deliveries.
        assert_that(out["daily"], _some_late_pane, label="late panes")
        assert_that(
            out["too_late"] | "TooLateLines" >> beam.Map(lambda r: (r[0], r[1])),
            _same_set(set(too_late), "too_late lines"),
            label="too late as predicted",
        )
        # The same dead letters by reason as the batch run. (Duplicate copies are dropped inside
        # each profile-day by the batch rule: the window rows above are the check.)
        assert_that(out["rejected"], _by_reason(dict(counts["rejected"])), label="same rejects")
