"""Streaming mode on TestStream, runner named explicitly (BundleBasedDirectRunner --streaming).

Lines added to a TestStream without a timestamp carry the current watermark: that is their
arrival time, against which ParseStream decides what is too late.
"""

import json
import random
from datetime import UTC, date, datetime, timedelta

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.test_stream import TestStream
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.transforms.window import TimestampedValue

from ingest import parse, tables
from ingest.landing import LandedFile, file_sha256
from pipelines import engagement, stream_manifest, streaming
from schemas.datasets import METRIC_NAMES
from storage.manifest import updated_manifest
from storage.warehouse import MANIFEST_SCHEMA, Warehouse
from tests.conftest import INGEST_US, event

DAY = 86_400
LATENESS = DAY  # one day keeps the scripts short
D0 = int(datetime(2026, 11, 20, tzinfo=UTC).timestamp())  # 2026-11-20 00:00 UTC


def pipeline():
    return TestPipeline(options=PipelineOptions(["--runner=BundleBasedDirectRunner", "--streaming"]))


def at(day_offset: int, hour: float) -> str:
    moment = datetime.fromtimestamp(D0 + day_offset * DAY + int(hour * 3600), tz=UTC)
    return moment.isoformat().replace("+00:00", "Z")


def ln(number: int, **fields) -> tuple:
    return ("f.jsonl", number, json.dumps(event(**fields)).encode())


def summary(row: dict) -> tuple:
    """(profile, day, pane timing, posts, likes, comments, interactions, unique_engagers, followers_first, followers_last)"""
    return (
        row["profile_id"],
        row["day"],
        row["pane_timing"],
        row["posts"],
        row["likes"],
        row["comments"],
        row["interactions"],
        row["unique_engagers"],
        row["followers_first"],
        row["followers_last"],
    )


def run(stream: TestStream, check):
    with pipeline() as p:
        out = p | stream | streaming.StreamEngagement(LATENESS, INGEST_US, window_lengths=(7,))
        check(out)


def test_on_time_pane_when_the_watermark_passes_midnight():
    stream = (
        TestStream()
        .advance_watermark_to(D0)
        .add_elements(
            [
                ln(1, event_type="post", event_id="p1", event_time=at(0, 8)),
                ln(2, event_id="l1", event_time=at(0, 9)),
                ln(3, event_id="l2", actor_id="alice", event_time=at(0, 9)),  # self-engagement: not counted
                ln(4, event_type="profile_snapshot", event_id="s1", followers=100, event_time=at(0, 7)),
                ln(5, event_type="profile_snapshot", event_id="s2", followers=120, event_time=at(0, 22)),
            ]
        )
        .advance_watermark_to(D0 + DAY + 1)
        .advance_watermark_to_infinity()
    )

    def check(out):
        assert_that(
            out["daily"] | beam.Map(summary),
            equal_to([("alice", "2026-11-20", "ON_TIME", 1, 1, 0, 1, 1, 100, 120)]),
        )

    run(stream, check)


def test_watermark_crossing_midnight_closes_the_day():
    """The line added just before midnight is in the on-time pane; the one added after is late."""
    stream = (
        TestStream()
        .advance_watermark_to(D0)
        .add_elements([ln(1, event_id="l1", event_time=at(0, 10))])
        .advance_watermark_to(D0 + DAY - 1)
        .add_elements([ln(2, event_id="l2", actor_id="carol", event_time=at(0, 23))])
        .advance_watermark_to(D0 + DAY)  # midnight: the day's window closes
        .add_elements([ln(3, event_id="l3", actor_id="dave", event_time=at(0, 23.5))])
        .advance_watermark_to(D0 + DAY + 3600)
        .advance_watermark_to_infinity()
    )

    def check(out):
        assert_that(
            out["daily"] | beam.Map(summary),
            equal_to(
                [
                    ("alice", "2026-11-20", "ON_TIME", 0, 2, 0, 2, 2, None, None),
                    ("alice", "2026-11-20", "LATE", 0, 3, 0, 3, 3, None, None),
                ]
            ),
        )

    run(stream, check)


def test_late_within_lateness_updates_the_pane_duplicates_do_not_count_too_late_is_routed():
    stream = (
        TestStream()
        .advance_watermark_to(D0)
        .add_elements(
            [
                ln(1, event_id="l1", event_time=at(0, 9)),
                ln(2, event_type="post", event_id="p1", event_time=at(0, 8)),
            ]
        )
        .advance_watermark_to(D0 + DAY + 60)  # on-time pane
        .add_elements([ln(3, event_type="comment", event_id="c1", actor_id="carol", event_time=at(0, 20))])
        .advance_watermark_to(D0 + DAY + 3600)  # late pane 1 (accumulating: the whole day again)
        .add_elements([ln(4, event_id="l1", event_time=at(0, 9))])  # the same like again: a duplicate
        .advance_watermark_to(D0 + DAY + 7200)
        .add_elements([ln(5, event_id="l9", actor_id="erin", event_time=at(0, 21))])
        .advance_watermark_to(D0 + 2 * DAY + 60)  # past the day's end + lateness
        .add_elements([ln(6, event_id="l10", actor_id="frank", event_time=at(0, 22))])  # too late
        .advance_watermark_to_infinity()
    )

    def check(out):
        assert_that(
            out["daily"] | beam.Map(summary),
            equal_to(
                [
                    ("alice", "2026-11-20", "ON_TIME", 1, 1, 0, 1, 1, None, None),
                    ("alice", "2026-11-20", "LATE", 1, 1, 1, 2, 2, None, None),
                    (
                        "alice",
                        "2026-11-20",
                        "LATE",
                        1,
                        1,
                        1,
                        2,
                        2,
                        None,
                        None,
                    ),  # the copy: a pane, same counts
                    ("alice", "2026-11-20", "LATE", 1, 2, 1, 3, 3, None, None),
                ]
            ),
            label="daily panes",
        )
        assert_that(
            out["too_late"] | beam.Map(lambda r: (r[0], r[1], r[3])),
            equal_to([("f.jsonl", 6, "too_late")]),
            label="too late",
        )
        assert_that(out["rejected"], equal_to([]), label="no rejects")

    run(stream, check)


def test_rejects_go_to_the_dead_letter_output():
    stream = (
        TestStream()
        .advance_watermark_to(D0)
        .add_elements(
            [
                ("f.jsonl", 1, b"{not json"),
                ("f.jsonl", 2, b"   "),
                ln(3, event_id="x", event_time="2026-11-20T10:00:00"),
            ]
        )
        .advance_watermark_to_infinity()
    )

    def check(out):
        assert_that(
            out["rejected"] | beam.Map(lambda r: (r[1], r[3])),
            equal_to([(1, "invalid_json"), (3, "naive_timestamp")]),
        )
        assert_that(out["daily"], equal_to([]), label="no rows")

    run(stream, check)


def _random_events(n: int, seed: int = 3) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        kind = rng.choice(["post", "like", "like", "comment", "share", "save", "profile_snapshot"])
        fields = {
            "event_id": f"e{i}",
            "profile_id": rng.choice(["alice", "bob"]),
            "platform": rng.choice(["instagram", "tiktok"]),
            "event_time": at(rng.randrange(3), rng.randrange(0, 24 * 60) / 60),
        }
        if kind == "profile_snapshot":
            fields["followers"] = rng.randrange(1000, 2000)
        elif kind == "post":
            fields["sponsored"] = rng.random() < 0.3
        else:
            fields["actor_id"] = rng.choice(["alice", "bob", "u1", "u2", "u3"])
        out.append(event(kind, **fields))
    return sorted(out, key=lambda e: e["event_time"])


def _final(rows, key_columns):
    """Last pane per key (accumulating panes: the last one holds the whole window)."""
    best = {}
    for r in rows:
        k = tuple(r[c] for c in key_columns)
        if k not in best or r["pane_index"] > best[k]["pane_index"]:
            best[k] = r
    return sorted(tuple(r[c] for c in key_columns) + tuple(r[m] for m in METRIC_NAMES) for r in best.values())


def test_replay_in_time_order_matches_the_batch_metric_functions():
    events = _random_events(60)
    # Batch: the same lines through parse + the pure metric functions.
    rows = [parse.parse_line(json.dumps(e).encode(), INGEST_US) for e in events]
    table = tables.events_table(rows, "f.jsonl", list(range(1, len(rows) + 1)))
    as_of_day = (date(2026, 11, 22) - date(1970, 1, 1)).days
    daily, engagers = engagement.daily_engagement(table, as_of_day=as_of_day)
    expected_daily = sorted(
        (r["platform"], r["profile_id"], (date(1970, 1, 1) + timedelta(days=r["day"])).isoformat())
        + tuple(r[m] for m in METRIC_NAMES)
        for r in daily.to_pylist()
    )
    trailing = engagement.trailing_engagement(daily, engagers, as_of_day + 6, lengths=(7,))
    expected_trailing = sorted(
        (r["platform"], r["profile_id"], r["window_days"], r["window_end"].isoformat())
        + tuple(r[m] for m in METRIC_NAMES)
        for r in trailing.to_pylist()
    )

    stream = TestStream().advance_watermark_to(D0)
    for number, e in enumerate(events, start=1):
        moment = datetime.fromisoformat(e["event_time"].replace("Z", "+00:00")).timestamp()
        stream = stream.advance_watermark_to(moment) if moment > D0 else stream
        stream = stream.add_elements([("f.jsonl", number, json.dumps(e).encode())])
    stream = stream.advance_watermark_to_infinity()

    def check(out):
        daily_matcher = lambda actual: equal_to(expected_daily)(  # noqa: E731
            _final(actual, ["platform", "profile_id", "day"])
        )
        trailing_matcher = lambda actual: equal_to(expected_trailing)(  # noqa: E731
            _final(actual, ["platform", "profile_id", "window_days", "window_end"])
        )
        assert_that(out["daily"], daily_matcher, label="daily equals batch")
        assert_that(out["trailing_7"], trailing_matcher, label="trailing equals batch")
        assert_that(out["too_late"], equal_to([]), label="nothing too late")

    assert len(expected_daily) > 5 and len(expected_trailing) > len(expected_daily)
    run(stream, check)


def test_sink_replaces_a_profiles_row_with_each_pane_and_swaps_whole_partitions(tmp_path):
    stream = (
        TestStream()
        .advance_watermark_to(D0)
        .add_elements(
            [
                ln(1, event_id="l1", event_time=at(0, 9)),
                ln(2, event_id="m1", profile_id="bob", actor_id="zoe", event_time=at(0, 9)),
            ]
        )
        .advance_watermark_to(D0 + DAY + 60)
        .add_elements([ln(3, event_id="l2", actor_id="carol", event_time=at(0, 20))])  # late pane for alice
        .advance_watermark_to(D0 + 2 * DAY + 60)
        .add_elements(
            [("f.jsonl", 4, b"{bad"), ln(5, event_id="l3", event_time=at(0, 1))]
        )  # reject, too late
        .advance_watermark_to_infinity()
    )
    warehouse = tmp_path / "wh"
    with pipeline() as p:
        out = p | stream | streaming.StreamEngagement(LATENESS, INGEST_US, window_lengths=(7,))
        _ = out | streaming.WriteStreamOutputs(str(warehouse), LATENESS, "run-1")

    day_dir = warehouse / "engagement_daily" / "day=2026-11-20"
    files = list(day_dir.glob("*.parquet"))
    assert len(files) == 1  # each pane rewrote the partition as one new file
    rows = sorted(
        pq.read_table(files[0]).select(["profile_id", "likes", "unique_engagers"]).to_pylist(),
        key=lambda r: r["profile_id"],
    )
    assert rows == [
        {"profile_id": "alice", "likes": 2, "unique_engagers": 2},
        {"profile_id": "bob", "likes": 1, "unique_engagers": 1},
    ]
    trailing = pq.read_table(warehouse / "engagement_trailing" / "window_end=2026-11-26")
    assert trailing.num_rows == 2 and set(trailing["window_days"].to_pylist()) == {7}
    assert not (warehouse / "engagement_trailing" / "window_end=2026-11-27").exists()
    rejected = pq.read_table(warehouse / "rejected")
    assert rejected["reason"].to_pylist() == ["invalid_json"]
    too_late = pq.read_table(warehouse / "stream_too_late")
    assert too_late["reason"].to_pylist() == ["too_late"] and too_late["source_line"].to_pylist() == [5]
    assert not list((warehouse / "_staging").glob("*/*"))  # nothing left behind in staging
    # Hive partitions read back by a generic reader, partition column from the path.
    import pyarrow.dataset as ds

    table = ds.dataset(warehouse / "engagement_daily", format="parquet", partitioning="hive").to_table()
    assert table.num_rows == 2 and "day" in table.column_names
    assert isinstance(table, pa.Table)


def test_parse_duration():
    assert streaming.parse_duration_s("3d") == 3 * DAY
    assert streaming.parse_duration_s("36h") == 36 * 3600
    assert streaming.parse_duration_s("90") == 90


def test_run_stream_watches_the_landing_directory_end_to_end(tmp_path):
    """run_stream on the real clock: a file present at start and one landing mid-run are both
    read; the watermark follows event time, so yesterday's events are on time and an event older
    than the lateness (in the second file, after the watermark moved) goes to stream_too_late;
    on stop, windows ending by the last event time are written, today's (not over) is not."""
    import threading
    import time

    landing_dir, warehouse = tmp_path / "landing", tmp_path / "wh"
    landing_dir.mkdir()
    now = datetime.now(UTC) - timedelta(seconds=30)
    yesterday = now - timedelta(days=1)
    stamp = lambda t: t.isoformat().replace("+00:00", "Z")  # noqa: E731
    first = [
        event(event_id="a1", actor_id="u1", event_time=stamp(yesterday)),
        event(event_id="b1", profile_id="bob", actor_id="u1", event_time=stamp(now)),
    ]
    (landing_dir / "one.jsonl").write_text("\n".join(json.dumps(e) for e in first) + "\n")

    def land_later():
        time.sleep(1.5)
        hidden = landing_dir / ".two.jsonl"  # uploads are hidden until complete
        second = [
            event(event_id="a2", actor_id="u2", event_time=stamp(yesterday)),
            event(event_id="old", actor_id="u9", event_time=stamp(now - timedelta(days=5))),
        ]
        hidden.write_text("\n".join(json.dumps(e) for e in second) + "\n")
        hidden.rename(landing_dir / "two.jsonl")

    writer = threading.Thread(target=land_later)
    writer.start()
    streaming.run_stream(
        landing_dir, warehouse, allowed_lateness_s=DAY, beam_args=[], poll_interval_s=0.5, stop_after_s=4
    )
    writer.join()
    day = pq.read_table(warehouse / "engagement_daily" / f"day={yesterday.date().isoformat()}")
    assert day.select(["profile_id", "likes", "unique_engagers"]).to_pylist() == [
        {"profile_id": "alice", "likes": 2, "unique_engagers": 2}
    ]
    assert not (warehouse / "engagement_daily" / f"day={now.date().isoformat()}").exists()  # not over yet
    ends = sorted(p.name for p in (warehouse / "engagement_trailing").iterdir())
    assert ends[-1] == f"window_end={yesterday.date().isoformat()}"
    too_late = pq.read_table(warehouse / "stream_too_late")
    assert too_late["source_file"].to_pylist() == ["two.jsonl"] and too_late["source_line"].to_pylist() == [2]


def test_event_time_clock_follows_the_latest_event_minus_the_out_of_orderness():
    clock = streaming.EventTimeClock(out_of_orderness_s=3600)
    line = lambda t: ("f", 1, json.dumps(event(event_time=t)).encode(), 0)  # noqa: E731
    arrival = (D0 + 10 * DAY) * US
    assert clock.stamp_us() < 0  # before any event: the minimum timestamp
    assert (
        clock.advance([line(at(0, 12)), line(at(0, 9)), ("f", 3, b"{bad", 0)], arrival)
        == (D0 + 11 * 3600) * US
    )
    assert clock.advance([line(at(0, 10))], arrival) is None  # older: the watermark never goes back
    rejected = (
        "f",
        4,
        json.dumps(event(event_time=at(9, 0), followers=-5, event_type="profile_snapshot")).encode(),
        0,
    )
    assert clock.advance([rejected], arrival) is None  # a line the parser rejects does not count
    assert clock.advance([line(at(15, 0))], arrival) is None  # > 24 h after arrival: a future_event reject
    assert clock.last_event_us == (D0 + 12 * 3600) * US
    assert clock.advance([line(at(9, 23.5))], arrival) == arrival - 5400 * US
    assert clock.advance([line(at(10, 20))], arrival) == arrival  # never ahead of the wall clock


def test_poller_reads_each_file_once_in_name_order_and_retries_an_unreadable_one(tmp_path):
    import gzip

    (tmp_path / "b.jsonl.gz").write_bytes(gzip.compress(b'{"x": 3}\n')[:-6])  # truncated upload
    (tmp_path / "a.jsonl").write_text('{"x": 1}\n\n{"x": 2}\n')
    (tmp_path / ".c.jsonl").write_text('{"x": 4}\n')  # hidden: still uploading
    poller = streaming.LandingPoller(str(tmp_path), 1.0)
    files = poller.poll()
    arrival = files[0][1][0][3]
    assert files == [
        (
            "a.jsonl",
            [
                ("a.jsonl", 1, b'{"x": 1}', arrival),
                ("a.jsonl", 2, b"", arrival),
                ("a.jsonl", 3, b'{"x": 2}', arrival),
            ],
        )
    ]
    (tmp_path / "b.jsonl.gz").write_bytes(gzip.compress(b'{"x": 3}\n'))
    assert [(rel, [line[:3] for line in lines]) for rel, lines in poller.poll()] == [
        ("b.jsonl.gz", [("b.jsonl.gz", 1, b'{"x": 3}')])
    ]
    assert poller.poll() == []


# --- restarts: the stream manifest and the replay ------------------------------------------------

US = 1_000_000


def test_replay_horizon_covers_every_window_still_open():
    start_us = (D0 + 40 * DAY) * US
    since = stream_manifest.replay_from_us(start_us, LATENESS)
    assert since == start_us - (LATENESS + 30 * DAY) * US
    # The oldest window still open at the start: a 28-day window ending the day whose end + lateness
    # is just after the start. Its first event may arrive a day before the window starts.
    as_of_day = next(d for d in range(40_000) if stream_manifest.window_open_at(d, start_us, LATENESS))
    assert not stream_manifest.window_open_at(as_of_day - 1, start_us, LATENESS)
    first_day_us = (as_of_day - 27) * DAY * US
    assert first_day_us - DAY * US >= since


def test_files_to_replay_are_the_recent_ones_in_arrival_order():
    manifest = updated_manifest(
        MANIFEST_SCHEMA.empty_table(),
        [LandedFile("b.jsonl", "/x/b.jsonl", 1), LandedFile("a.jsonl", "/x/a.jsonl", 1)],
        {"a.jsonl": "ha", "b.jsonl": "hb"},
        "run-1",
        200,
        MANIFEST_SCHEMA,
    )
    manifest = updated_manifest(
        manifest,
        [LandedFile("old.jsonl", "/x/old.jsonl", 1)],
        {"old.jsonl": "ho"},
        "run-0",
        50,
        MANIFEST_SCHEMA,
    )
    assert stream_manifest.files_to_replay(manifest, 100) == [("a.jsonl", "ha", 200), ("b.jsonl", "hb", 200)]
    assert [r[0] for r in stream_manifest.files_to_replay(manifest, 0)] == ["old.jsonl", "a.jsonl", "b.jsonl"]


def _land(directory, name: str, text: str):
    hidden = directory / f".{name}"
    hidden.write_text(text)
    hidden.rename(directory / name)


def test_restarted_poller_skips_consumed_files_replays_recent_ones_and_refuses_changed_ones(tmp_path, caplog):
    landing_dir, warehouse = tmp_path / "landing", Warehouse.at(tmp_path / "wh")
    landing_dir.mkdir()
    _land(landing_dir, "a.jsonl", '{"x": 1}\n')
    _land(landing_dir, "b.jsonl", '{"x": 2}\n')
    first = streaming.LandingPoller(
        str(landing_dir), 1.0, manifest=stream_manifest.StreamManifest(warehouse, "run-1")
    )
    files = first.poll()
    arrival_us = files[0][1][0][3]
    assert [rel for rel, _ in files] == ["a.jsonl", "b.jsonl"]
    stored = warehouse.read_stream_manifest()  # persisted before the lines were handed on
    assert stored["relpath"].to_pylist() == ["a.jsonl", "b.jsonl"]
    assert set(stored["run_id"].to_pylist()) == {"run-1"}
    assert stored["sha256"].to_pylist()[0] == file_sha256(str(landing_dir / "a.jsonl"))
    assert stored["ingested_at"].cast(pa.int64()).to_pylist() == [
        arrival_us,
        arrival_us,
    ]  # the lines' arrival stamp
    assert not list(warehouse.meta.glob("*.tmp"))

    # Restart: b changed meanwhile, c is new.
    (landing_dir / "b.jsonl").write_text('{"x": 2}\n{"x": 3}\n')
    _land(landing_dir, "c.jsonl", '{"x": 4}\n')
    with caplog.at_level("ERROR", logger="pipelines.stream.source"):
        second = streaming.LandingPoller(
            str(landing_dir),
            1.0,
            manifest=stream_manifest.StreamManifest(warehouse, "run-2"),
            replay_from_us=arrival_us,
        )
    assert "b.jsonl changed after the stream consumed it" in caplog.text
    assert [(f.relpath, t) for f, t in second.replay] == [("a.jsonl", arrival_us)]  # b is not replayed
    assert list(second.replay_files()) == [("a.jsonl", [("a.jsonl", 1, b'{"x": 1}', arrival_us)])]
    assert [rel for rel, _ in second.poll()] == ["c.jsonl"]  # a and b are not read as new
    assert second.poll() == []
    assert warehouse.read_stream_manifest()["relpath"].to_pylist() == ["a.jsonl", "b.jsonl", "c.jsonl"]
    assert warehouse.read_stream_manifest()["sha256"].to_pylist()[1] == stored["sha256"].to_pylist()[1]

    # Nothing recent enough: known files are skipped, none replayed.
    third = streaming.LandingPoller(
        str(landing_dir),
        1.0,
        manifest=stream_manifest.StreamManifest(warehouse, "run-3"),
        replay_from_us=arrival_us + 10**12,
    )
    assert third.replay == [] and third.poll() == []


def test_restart_replay_rebuilds_complete_windows_and_leaves_the_others_and_dead_letters_alone(tmp_path):
    """A previous run consumed f1 (11-20 10:00) and f2 (11-24 11:00) and wrote some rows; the
    restart at 11-25 12:00 replays both with their first arrival stamps, then f3 arrives live.
    Files consumed before 11-20 were not replayed: windows starting before 11-21 may miss their
    events (complete_from), so they are left as they are."""
    restart = D0 + 5 * DAY + 12 * 3600
    warehouse = tmp_path / "wh"
    # What the previous run left: day 11-20 (not complete after the replay) and f2's reject.
    old_day = pa.table({"platform": ["instagram"], "profile_id": ["alice"], "likes": [1]})
    day_20 = warehouse / "engagement_daily" / "day=2026-11-20"
    day_20.mkdir(parents=True)
    pq.write_table(old_day, day_20 / "part-previous.parquet")
    old_reject = pa.Table.from_pylist(
        [
            streaming.dead_letter_row(
                ("f2.jsonl", 2, "{bad", "invalid_json", "x", (D0 + 4 * DAY + 11 * 3600) * US), "run-1"
            )
        ]
    )
    reject_dir = warehouse / "rejected" / "ingest_date=2026-11-24"
    reject_dir.mkdir(parents=True)
    pq.write_table(old_reject.drop_columns(["ingest_date"]), reject_dir / "part-previous.parquet")

    def replayed(relpath, number, arrival_s, **fields):
        return TimestampedValue((relpath, number, json.dumps(event(**fields)).encode()), arrival_s)

    stream = (
        TestStream()
        .add_elements(
            [  # the replay, before any watermark
                replayed("f1.jsonl", 1, D0 + 10 * 3600, event_id="l1", actor_id="u1", event_time=at(0, 9)),
                replayed(
                    "f2.jsonl",
                    1,
                    D0 + 4 * DAY + 11 * 3600,
                    event_id="l2",
                    actor_id="u2",
                    event_time=at(4, 10),
                ),
                TimestampedValue(("f2.jsonl", 2, b"{bad"), D0 + 4 * DAY + 11 * 3600),
            ]
        )
        .advance_watermark_to(restart)  # the first poll
        .add_elements(
            [
                ln(1, event_id="l3", actor_id="u3", event_time=at(4, 23)),
                ln(2, event_id="l2", actor_id="u2", event_time=at(4, 10)),
            ]
        )  # live: new + a copy of l2
        .advance_watermark_to(restart + 3600)
        .advance_watermark_to_infinity()
    )
    with pipeline() as p:
        out = p | stream | streaming.StreamEngagement(LATENESS, None, window_lengths=(7,))
        _ = out | streaming.WriteStreamOutputs(
            str(warehouse), LATENESS, "run-2", complete_from_us=(D0 + DAY) * US
        )

    def rows(dataset, partition):
        return pq.read_table(warehouse / dataset / partition).select(["profile_id", "likes"]).to_pylist()

    assert [f.name for f in day_20.iterdir()] == ["part-previous.parquet"]  # may be incomplete: untouched
    assert rows("engagement_daily", "day=2026-11-24") == [{"profile_id": "alice", "likes": 2}]
    # 7-day windows starting 11-21 or later are complete after the replay; earlier ones are not written.
    assert rows("engagement_trailing", "window_end=2026-11-27") == [{"profile_id": "alice", "likes": 2}]
    assert not (warehouse / "engagement_trailing" / "window_end=2026-11-26").exists()
    assert not (warehouse / "engagement_trailing" / "window_end=2026-11-24").exists()
    rejected = pq.read_table(
        warehouse / "rejected"
    )  # every partition: the replayed reject kept its ingest_date
    assert rejected.select(["source_file", "source_line", "run_id"]).to_pylist() == [
        {"source_file": "f2.jsonl", "source_line": 2, "run_id": "run-1"}
    ]
    assert not (warehouse / "stream_too_late").exists()


def test_complete_from_is_a_day_after_the_replay_horizon_only_when_older_files_are_not_replayed():
    manifest = updated_manifest(
        MANIFEST_SCHEMA.empty_table(),
        [LandedFile("a.jsonl", "/x/a.jsonl", 1)],
        {"a.jsonl": "ha"},
        "run-1",
        500 * US,
        MANIFEST_SCHEMA,
    )
    assert stream_manifest.complete_from_us(MANIFEST_SCHEMA.empty_table(), 100 * US) is None
    assert stream_manifest.complete_from_us(manifest, 100 * US) is None  # everything is replayed
    assert stream_manifest.complete_from_us(manifest, 600 * US) == (600 + DAY) * US
