"""Windows from stored context: days whose daily rows are final give those rows and their distinct
engagers instead of their events, and the windows come out exactly as from the events."""

import random
from datetime import date, timedelta

import apache_beam as beam
import pyarrow as pa
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from ingest.parse import parse_line
from ingest.tables import events_table
from pipelines import engagement, transforms
from pipelines.stored import DailyFiles, EngagerFiles, EventFiles, file_groups
from pipelines.transforms import (
    DAILY,
    STORED_DAILY_IN,
    STORED_ENGAGERS_IN,
    TRAILING,
    ReadFilesFn,
    WindowEngagement,
)
from tests.conftest import INGEST_US, event, line

RUNNER = PipelineOptions(["--runner=FnApiRunner"])
EPOCH = date(1970, 1, 1)
FIRST_DAY, LAST_DAY, FIRST_END = date(2026, 10, 10), date(2026, 11, 20), date(2026, 11, 12)


def number(d: date) -> int:
    return (d - EPOCH).days


def random_events(seed=3, n=1500) -> pa.Table:
    rng = random.Random(seed)
    rows = []
    span = (LAST_DAY - FIRST_DAY).days
    for i in range(n):
        kind = rng.choice(["like", "like", "comment", "share", "save", "post", "profile_snapshot"])
        when = FIRST_DAY + timedelta(days=rng.randint(0, span))
        fields = {
            "event_id": f"e{i}",
            "profile_id": rng.choice(["alice", "bob", "carol"]),
            "platform": rng.choice(["instagram", "tiktok"]),
            "event_time": f"{when}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00Z",
        }
        if kind == "profile_snapshot":
            fields["followers"] = rng.randint(9_000, 12_000)
        elif kind != "post":
            fields["actor_id"] = rng.choice([f"u{k}" for k in range(12)] + ["alice"])
        rows.append(parse_line(line(event(kind, **fields)), INGEST_US))
    return events_table(rows, "test.jsonl", list(range(1, n + 1)))


def trailing_rows(table: pa.Table):
    return [tuple(r.values()) for r in table.to_pylist()]


def write_partitions(table: pa.Table, column: str, root, prefix: str):
    """A table -> two Parquet files per partition (as two buckets of a run would write)."""
    import pyarrow.parquet as pq

    for value in sorted(set(table[column].to_pylist())):
        rows = table.filter(
            pa.compute.equal(table[column], pa.scalar(value, table.schema.field(column).type))
        )
        part = root / f"{prefix}={value}"
        part.mkdir(parents=True)
        half = rows.num_rows // 2
        pq.write_table(rows.slice(0, half).drop_columns([column]), part / "part-a.parquet")
        pq.write_table(rows.slice(half).drop_columns([column]), part / "part-b.parquet")


# Final days after the first window end: days between touched ones keep their stored rows too.
FINAL_AFTER = [FIRST_END + timedelta(days=2), FIRST_END + timedelta(days=5)]


@pytest.mark.parametrize(
    "collapse, final_after",
    [(False, []), (True, []), (True, FINAL_AFTER)],
    ids=["per-day-engagers", "collapsed-engagers", "collapsed-with-final-days-after"],
)
def test_stored_daily_rows_and_engagers_give_exactly_the_windows_of_the_events(
    tmp_path, collapse, final_after
):
    events = random_events()
    first_event_day = number(FIRST_END) - 27
    is_final = pa.compute.or_(
        pa.compute.less(events["event_date"], pa.scalar(FIRST_END, pa.date32())),
        pa.compute.is_in(events["event_date"], pa.array(final_after, pa.date32())),
    )
    final, recomputed = events.filter(is_final), events.filter(pa.compute.invert(is_final))

    # What the stored context holds: the events, and the daily rows computed from them earlier.
    daily, _ = engagement.daily_engagement(final, number(LAST_DAY))
    write_partitions(final, "event_date", tmp_path / "events", "event_date")
    write_partitions(engagement.to_daily_dataset(daily), "day", tmp_path / "engagement_daily", "day")
    event_files = sorted(str(p) for p in (tmp_path / "events").glob("*/*.parquet"))
    daily_files = sorted(str(p) for p in (tmp_path / "engagement_daily").glob("*/*.parquet"))
    readers = {
        STORED_DAILY_IN: DailyFiles(),
        STORED_ENGAGERS_IN: EngagerFiles(
            number(LAST_DAY), first_event_day, collapse_before=number(FIRST_END) if collapse else None
        ),
    }
    groups = [(STORED_DAILY_IN, g) for g in file_groups(daily_files, max_files=15)]
    # Groups of a few days each, so that engagers also meet across groups.
    groups += [(STORED_ENGAGERS_IN, g) for g in file_groups(event_files, max_files=25)]

    def windows(p, label, inputs):
        return inputs | label >> WindowEngagement(
            number(LAST_DAY), 3, str(tmp_path / f"spill-{label}"), number(FIRST_END), first_event_day
        )

    with TestPipeline(options=RUNNER) as p:
        everything = windows(p, "FromEvents", p | "AllEvents" >> beam.Create([events]))
        read = (
            p
            | "Stored" >> beam.Create(groups)
            | "Read" >> beam.ParDo(ReadFilesFn(readers)).with_outputs(*readers)
        )
        context = windows(
            p,
            "FromStored",
            {
                transforms.EVENTS_IN: p | "NewEvents" >> beam.Create([recomputed]),
                STORED_DAILY_IN: read[STORED_DAILY_IN],
                STORED_ENGAGERS_IN: read[STORED_ENGAGERS_IN],
            },
        )
        expected = trailing_rows(
            engagement.trailing_engagement(
                *engagement.daily_engagement(events, number(LAST_DAY), first_event_day),
                number(LAST_DAY),
                number(FIRST_END),
            )
        )
        assert len(expected) > 100
        assert_that(
            everything[TRAILING] | "T1" >> beam.FlatMap(trailing_rows), equal_to(expected), label="Events"
        )
        assert_that(
            context[TRAILING] | "T2" >> beam.FlatMap(trailing_rows), equal_to(expected), label="Stored"
        )
        # Daily rows are written for the recomputed days only.
        assert_that(
            context[DAILY]
            | "D2" >> beam.FlatMap(lambda t: [d.isoformat() for d in t["day"].to_pylist()])
            | beam.Distinct(),
            equal_to(sorted({d.isoformat() for d in recomputed["event_date"].to_pylist()})),
            label="DailyDays",
        )


def test_stored_engagers_are_the_days_distinct_engagers_collapsed_before_the_collapse_day(tmp_path):
    import pyarrow.parquet as pq

    rows = [
        ("bob", "2026-11-01"),
        ("bob", "2026-11-03"),
        ("bob", "2026-11-03"),
        ("bob", "2026-11-05"),  # on the collapse day: kept as is
        ("bob", "2026-11-06"),
        ("carol", "2026-11-02"),
        ("alice", "2026-11-04"),  # the creator: not an engager
        (None, "2026-11-04"),  # a post: no actor
        ("dave", "2026-10-31"),
        ("erin", "2026-11-08"),
    ]  # before the first day, after the last
    objs = [
        event(
            "like" if actor else "post",
            event_id=f"e{i}",
            event_time=f"{d}T23:59:59Z",
            **({"actor_id": actor} if actor else {}),
        )
        for i, (actor, d) in enumerate(rows)
    ]
    table = events_table(
        [parse_line(line(o), INGEST_US) for o in objs], "t.jsonl", list(range(1, len(objs) + 1))
    )
    pq.write_table(table.drop_columns(["event_date"]), tmp_path / "a.parquet")
    first = number(date(2026, 11, 1))

    def read(collapse_before):
        reader = EngagerFiles(number(date(2026, 11, 7)), first, collapse_before)
        out = [t for t in reader.read([str(tmp_path / "a.parquet")])]
        assert all(t.schema == engagement.ENGAGER_SCHEMA for t in out)
        return sorted((r["engager"], r["day"] - first) for t in out for r in t.to_pylist())

    assert read(number(date(2026, 11, 5))) == [("bob", 2), ("bob", 4), ("bob", 5), ("carol", 1)]
    assert read(None) == [("bob", 0), ("bob", 2), ("bob", 4), ("bob", 5), ("carol", 1)]
    # the same as the engagers daily_engagement gives for those days
    _, engaged = engagement.daily_engagement(table, number(date(2026, 11, 7)), first)
    assert read(None) == sorted((r["engager"], r["day"] - first) for r in engaged.to_pylist())


def test_file_groups_keep_path_order_and_close_at_a_size(tmp_path):
    paths = []
    for part in ("day=2026-11-01", "day=2026-11-02"):
        (tmp_path / part).mkdir()
        for name in ("a", "b", "c"):
            path = tmp_path / part / f"{name}.parquet"
            path.write_bytes(b"x" * 100)
            paths.append(str(path))
    assert file_groups(paths) == [tuple(sorted(paths))]
    assert [len(g) for g in file_groups(paths, max_files=4)] == [4, 2]
    assert [len(g) for g in file_groups(paths, max_bytes=150)] == [2, 2, 2]
    assert [p for g in file_groups(list(reversed(paths)), max_files=4) for p in g] == sorted(paths)


def test_event_files_come_back_in_tables_of_bounded_rows(tmp_path):
    events = random_events(n=300)
    write_partitions(events, "event_date", tmp_path, "event_date")
    files = sorted(str(p) for p in tmp_path.glob("*/*.parquet"))
    read = list(EventFiles(batch_rows=50).read(files))
    assert sum(t.num_rows for t in read) == 300
    assert all(t.num_rows < 2 * 50 for t in read)  # a table closes once it reaches 50 rows
    assert sorted(pa.concat_tables(read)["event_id"].to_pylist()) == sorted(events["event_id"].to_pylist())


def test_a_runs_events_of_one_date_are_gathered_into_one_table(tmp_path):
    events = random_events(n=600)
    pieces = [events.slice(i, 100) for i in range(0, 600, 100)]  # as buckets of keys: dates spread over all

    def dates_of(table):
        return sorted({d.isoformat() for d in table["event_date"].to_pylist()})

    with TestPipeline(options=RUNNER) as p:
        gathered = p | beam.Create(pieces) | transforms.GatherByDate(3, str(tmp_path / "spill"))
        # every date in exactly one table, and no row lost
        assert_that(
            gathered | "Dates" >> beam.FlatMap(dates_of), equal_to(dates_of(events)), label="EachDateOnce"
        )
        assert_that(
            gathered | "Rows" >> beam.Map(lambda t: t.num_rows) | beam.CombineGlobally(sum),
            equal_to([600]),
            label="AllRows",
        )
