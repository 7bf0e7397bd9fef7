"""Post counters in the stream (pipelines/stream/counters.py): per-post state books observations
as the batch does (engagement.counter_bookings over the post's whole history), out-of-order ones
included; a change that would land on a closed day is refused to `too_late`. TestStream on
BundleBasedDirectRunner --streaming; the batch side is the shared metric code itself.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.test_stream import TestStream
from apache_beam.testing.util import BeamAssertException, assert_that, equal_to

from ingest import dedup, parse, tables
from ingest.landing import LandedFile, file_sha256
from pipelines import engagement, streaming
from pipelines.stream import counters
from schemas.datasets import METRIC_NAMES
from storage import stream_posts
from storage.manifest import updated_manifest
from storage.warehouse import MANIFEST_SCHEMA, Warehouse
from tests.conftest import INGEST_US, event

DAY = 86_400
US = 1_000_000
LATENESS = DAY
D0 = int(datetime(2026, 11, 20, tzinfo=UTC).timestamp())  # 2026-11-20 00:00 UTC
DAY0 = D0 // DAY


def at(day_offset: int, hour: float) -> str:
    moment = datetime.fromtimestamp(D0 + day_offset * DAY + int(hour * 3600), tz=UTC)
    return moment.isoformat().replace("+00:00", "Z")


def ln(number: int, **fields) -> tuple:
    return ("f.jsonl", number, json.dumps(event(**fields)).encode())


def parsed(line: tuple) -> tuple:
    return parse.parse_line(line[2], INGEST_US), line[0], line[1]


# --- the pure rule ------------------------------------------------------------------------------


def _apply_all(lines, arrival_us=counters.MIN_ARRIVAL_US):
    state = counters.PostCounters()
    for line in lines:
        change = counters.apply(state, parsed(line), arrival_us, LATENESS)
        assert isinstance(change, counters.Change), change
        state = change.state
    return state


def _deltas(state) -> dict[tuple[str, int], int]:
    return {(kind, day): delta for _, _, _, kind, day, delta in state.bookings}


def test_an_out_of_order_observation_rebooks_its_day_and_its_successors_as_the_batch_does():
    first = ln(1, event_type="post_metrics", event_id="m1", event_time=at(1, 10), likes=10)
    third = ln(2, event_type="post_metrics", event_id="m3", event_time=at(3, 10), likes=40)
    state = _apply_all([first, third])
    assert _deltas(state) == {("likes", DAY0 + 1): 10, ("likes", DAY0 + 3): 30}
    middle = ln(3, event_type="post_metrics", event_id="m2", event_time=at(2, 10), likes=25)
    change = counters.apply(state, parsed(middle), counters.MIN_ARRIVAL_US, LATENESS)
    assert _deltas(change.state) == {
        ("likes", DAY0 + 1): 10,
        ("likes", DAY0 + 2): 15,
        ("likes", DAY0 + 3): 15,
    }
    assert sorted(change.day_sets) == [DAY0 + 2, DAY0 + 3]  # day 1 is untouched
    # the batch's own bookings over the same history
    history = tables.events_table([parsed(x)[0] for x in (first, third, middle)], "f.jsonl", [1, 2, 3])
    batch = engagement.counter_bookings(history.select(engagement.BOOKING_COLUMNS))
    assert {(r["kind"], r["day"]): r["delta"] for r in batch.to_pylist()} == _deltas(change.state)


def test_a_post_event_after_its_first_observation_moves_the_whole_count_to_the_publish_day():
    observed = ln(1, event_type="post_metrics", event_id="m1", event_time=at(2, 10), likes=10, views=99)
    state = _apply_all([observed])
    change = counters.apply(
        state,
        parsed(ln(2, event_type="post", event_id="p", event_time=at(0, 8))),
        counters.MIN_ARRIVAL_US,
        LATENESS,
    )
    assert _deltas(change.state) == {("likes", DAY0): 10, ("views", DAY0): 99}
    assert change.day_sets[DAY0 + 2] == ()  # emptied: the observation day books nothing now


def test_a_change_on_a_closed_day_is_refused_and_changes_nothing():
    state = _apply_all([ln(1, event_type="post", event_id="p", event_time=at(0, 8))])
    late_first = parsed(ln(2, event_type="post_metrics", event_id="m", event_time=at(1, 23), likes=5))
    arrival_us = (D0 + 2 * DAY) * US  # day 0 closed (its end + one day of lateness), day 1 open
    assert counters.apply(state, late_first, arrival_us, LATENESS) == [DAY0]
    assert isinstance(counters.apply(state, late_first, arrival_us - 1, LATENESS), counters.Change)


def test_a_counter_marks_the_days_of_the_kinds_events_so_they_no_longer_count():
    like = ln(1, event_id="l1", event_time=at(0, 9))
    state = _apply_all([like])
    change = counters.apply(
        state,
        parsed(ln(2, event_type="post_metrics", event_id="m", event_time=at(1, 9), likes=7)),
        counters.MIN_ARRIVAL_US,
        LATENESS,
    )
    # no post event: the whole count books on the observation's day; the like's day gets the marker
    assert change.day_sets == {
        DAY0: (("instagram", "alice", "p1", "likes", None, None),),
        DAY0 + 1: (("instagram", "alice", "p1", "likes", DAY0 + 1, 7),),
    }


def test_day_sets_keep_each_posts_newest_version():
    older = counters.DaySet(("x", "a", "p"), 5, 1, (("x", "a", "p", "likes", 5, 3),))
    newer = counters.DaySet(("x", "a", "p"), 5, 2, ())
    other = counters.DaySet(("x", "a", "q"), 5, 1, (("x", "a", "q", "views", 5, 9),))
    assert counters.latest_day_sets([newer, other, older]) == [("x", "a", "q", "views", 5, 9)]


def test_stored_rows_seed_the_same_state(tmp_path):
    lines = [
        ln(1, event_type="post", event_id="p", event_time=at(0, 8)),
        ln(2, event_type="post_metrics", event_id="m1", event_time=at(1, 10), likes=10),
        ln(3, event_id="l1", event_time=at(0, 9)),
    ]
    state = _apply_all(lines)
    key = ("instagram", "alice", "p1")
    rows = [
        counters.stored_row(key, INGEST_US, line=("f.jsonl", 1, lines[0][2].decode())),
        counters.stored_row(key, INGEST_US, line=("f.jsonl", 2, lines[1][2].decode())),
        counters.stored_row(key, INGEST_US, kind_day=("likes", DAY0)),
    ]
    stream_posts.append(tmp_path, rows)
    stream_posts.append(tmp_path, rows[1:])  # a replayed file writes its rows again
    assert stream_posts.file_count(tmp_path) == 2
    assert stream_posts.compact(tmp_path) == 3 and stream_posts.file_count(tmp_path) == 1
    seeded = counters.seed_states(stream_posts.read(tmp_path))[key]
    assert seeded.bookings == state.bookings and seeded.event_days == state.event_days
    assert stream_posts.read(tmp_path, arrived_before_us=INGEST_US).num_rows == 0


# --- the stream ---------------------------------------------------------------------------------


def _final_daily(rows) -> dict:
    best = {}
    for r in rows:
        key = (r["profile_id"], r["day"])
        if key not in best or r["pane_index"] > best[key]["pane_index"]:
            best[key] = r
    return {k: {m: r[m] for m in METRIC_NAMES} for k, r in best.items()}


def _batch_daily(lines) -> dict:
    """The shared metric code over the accepted lines' events (their whole history at once)."""
    rows = [parsed(x)[0] for x in lines]
    table = tables.events_table(rows, "f.jsonl", [x[1] for x in lines])
    kept, _ = dedup.deduplicate(table.append_column(tables.IS_NEW, pa.array([True] * table.num_rows)))
    daily, _ = engagement.daily_engagement(kept, as_of_day=DAY0 + 10)
    out = {}
    for r in daily.to_pylist():
        day = datetime.fromtimestamp(r["day"] * DAY, tz=UTC).date().isoformat()
        out[(r["profile_id"], day)] = {m: r[m] for m in METRIC_NAMES}
    return out


def _equals(expected):
    def check(actual):
        got = _final_daily(actual)
        if got != expected:
            raise BeamAssertException(f"stream {got} != batch {expected}")

    return check


def test_stream_books_counters_like_the_batch_and_refuses_what_it_cannot_book():
    post = ln(1, event_type="post", event_id="p1", post_id="p1", event_time=at(0, 8))
    like1 = ln(2, event_id="l1", actor_id="bob", event_time=at(0, 9))
    like2 = ln(3, event_id="l2", actor_id="carol", event_time=at(0, 10))
    m2 = ln(4, event_type="post_metrics", event_id="m2", event_time=at(1, 12), likes=30, comments=4)
    post2 = ln(5, event_type="post", event_id="p2", post_id="p2", event_time=at(0, 9))
    m3 = ln(6, event_type="post_metrics", event_id="m3", event_time=at(2, 10), likes=45, comments=4)
    m2b = ln(7, event_type="post_metrics", event_id="m2b", event_time=at(1, 20), likes=40)  # out of order
    late_first = ln(8, event_type="post_metrics", event_id="q1", post_id="p2", event_time=at(1, 23), likes=9)
    p3 = ln(9, event_type="post_metrics", event_id="r1", post_id="p3", event_time=at(2, 11), views=500)
    m3_again = (m3[0], 10, m3[2])  # a re-delivery: one event
    stream = (
        TestStream()
        .advance_watermark_to(D0)
        .add_elements([post, like1, like2, post2])
        .advance_watermark_to(D0 + DAY + 60)  # day 0 on time
        .add_elements([m2])  # day 0 is open: the first booking lands on the publish day
        .advance_watermark_to(D0 + 2 * DAY + 60)  # day 0 closed now; day 1 open
        .add_elements([m3, m2b])
        .advance_watermark_to(D0 + 2 * DAY + 3600)
        .add_elements([late_first, p3, m3_again])  # late_first's booking day (p2's publish day 0) is closed
        .advance_watermark_to_infinity()
    )
    accepted = [post, like1, like2, m2, post2, m3, m2b, p3, m3_again]
    expected = _batch_daily(accepted)
    # the sample does what it is about: counters re-booked on day 0, events no longer counted
    assert (
        expected[("alice", "2026-11-20")]["likes"] == 30 and expected[("alice", "2026-11-21")]["likes"] == 10
    )
    assert expected[("alice", "2026-11-22")]["views"] == 500
    with TestPipeline(options=PipelineOptions(["--runner=BundleBasedDirectRunner", "--streaming"])) as p:
        out = p | stream | streaming.StreamEngagement(LATENESS, INGEST_US, window_lengths=(7,))
        assert_that(out["daily"], _equals(expected), label="daily equals batch")
        assert_that(
            out["too_late"] | beam.Map(lambda r: (r[1], r[3], "re-book 2026-11-20" in r[4])),
            equal_to([(8, "too_late", True)]),
            label="refused",
        )
        assert_that(
            out["post_state"] | beam.Map(lambda r: (r["post_id"], r["kind"], r["source_line"])),
            equal_to(
                [
                    ("p1", None, 1),
                    ("p1", "likes", None),
                    ("p1", None, 4),
                    ("p2", None, 5),
                    ("p1", None, 6),
                    ("p1", None, 7),
                    ("p3", None, 9),
                    ("p1", None, 10),
                ]
            ),
            label="stored state",
        )


def test_a_restarted_stream_books_against_the_seeded_state():
    """A first run booked m1 (10 likes); a restart that is seeded with it books m2 as +5, not +15."""
    m1 = ln(1, event_type="post_metrics", event_id="m1", event_time=at(0, 10), likes=10)
    m2 = ln(2, event_type="post_metrics", event_id="m2", event_time=at(1, 10), likes=15)
    key = ("instagram", "alice", "p1")
    seed = counters.seed_states(
        pa.Table.from_pylist(
            [counters.stored_row(key, INGEST_US, line=("f.jsonl", 1, m1[2].decode()))],
            schema=stream_posts.SCHEMA,
        )
    )
    stream = TestStream().advance_watermark_to(D0 + DAY).add_elements([m2]).advance_watermark_to_infinity()
    with TestPipeline(options=PipelineOptions(["--runner=BundleBasedDirectRunner", "--streaming"])) as p:
        out = p | stream | streaming.StreamEngagement(LATENESS, INGEST_US, window_lengths=(7,), seed=seed)
        assert_that(
            out["daily"] | beam.Map(lambda r: (r["day"], r["likes"], r["unique_engagers"])),
            equal_to([("2026-11-21", 5, None)]),
        )


def test_run_stream_seeds_post_counters_from_what_earlier_runs_stored(tmp_path):
    """An earlier run consumed old.jsonl 60 days ago (beyond the replay horizon: not replayed) and
    stored p1's observation of 10 likes; the restarted stream books the next one (15) as +5, and
    stores it beside the first."""
    landing_dir, warehouse = tmp_path / "landing", tmp_path / "wh"
    landing_dir.mkdir()
    now = datetime.now(UTC) - timedelta(seconds=30)
    stamp = lambda t: t.isoformat().replace("+00:00", "Z")  # noqa: E731
    consumed_us = int((now - timedelta(days=60)).timestamp() * US)
    old = json.dumps(
        event("post_metrics", event_id="m1", event_time=stamp(now - timedelta(days=61)), likes=10)
    )
    (landing_dir / "old.jsonl").write_text(old + "\n")
    files = [LandedFile("old.jsonl", str(landing_dir / "old.jsonl"), len(old) + 1)]
    wh = Warehouse.at(warehouse)
    hashes = {"old.jsonl": file_sha256(landing_dir / "old.jsonl")}
    wh.write_stream_manifest(
        updated_manifest(MANIFEST_SCHEMA.empty_table(), files, hashes, "run-1", consumed_us, MANIFEST_SCHEMA)
    )
    key = ("instagram", "alice", "p1")
    stream_posts.append(warehouse, [counters.stored_row(key, consumed_us, line=("old.jsonl", 1, old))])
    yesterday = now - timedelta(days=1)
    new = [
        event("post_metrics", event_id="m2", event_time=stamp(yesterday), likes=15),
        event(event_id="x", profile_id="bob", actor_id="u1", event_time=stamp(now)),  # moves the watermark
    ]
    (landing_dir / "new.jsonl").write_text("\n".join(json.dumps(e) for e in new) + "\n")
    streaming.run_stream(
        landing_dir, warehouse, allowed_lateness_s=DAY, beam_args=[], poll_interval_s=0.5, stop_after_s=3
    )
    day = pq.read_table(warehouse / "engagement_daily" / f"day={yesterday.date().isoformat()}")
    assert day.select(["profile_id", "likes", "unique_engagers"]).to_pylist() == [
        {"profile_id": "alice", "likes": 5, "unique_engagers": None}
    ]
    stored = stream_posts.read(warehouse)
    assert stored.select(["post_id", "kind", "source_file", "source_line"]).to_pylist() == [
        {"post_id": "p1", "kind": None, "source_file": "old.jsonl", "source_line": 1},
        {"post_id": "p1", "kind": None, "source_file": "new.jsonl", "source_line": 1},
        {"post_id": "p1", "kind": "likes", "source_file": None, "source_line": None},  # bob's like
    ]


def test_the_state_sink_adds_a_file_per_bundle_and_folds_them_once_there_are_many(tmp_path):
    fn = streaming.StorePostStateFn(str(tmp_path), compact_after=3)
    key = ("instagram", "alice", "p1")
    for day in range(4):
        fn.start_bundle()
        fn.process(counters.stored_row(key, INGEST_US, kind_day=("likes", DAY0 + day)))
        fn.finish_bundle()
    assert stream_posts.file_count(tmp_path) == 2  # folded at the third, then one more
    assert sorted(stream_posts.read(tmp_path)["day"].to_pylist()) == [DAY0 + d for d in range(4)]
