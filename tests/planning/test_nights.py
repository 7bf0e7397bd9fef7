"""The pure rules of planning.nights: where a night's windows start."""

from datetime import date, timedelta

from planning.nights import plan_recompute_from

D = date(2026, 11, 20)


def test_windows_start_at_the_earliest_touched_day_or_after_the_last_as_of():
    assert plan_recompute_from({D - timedelta(days=3), D}, D - timedelta(days=1), D) == D - timedelta(days=3)
    assert plan_recompute_from(set(), D - timedelta(days=2), D) == D - timedelta(days=1)
    assert plan_recompute_from(set(), None, D) == D  # a first night
    assert plan_recompute_from(set(), D, D) is None  # a rerun: nothing to recompute
    assert plan_recompute_from({D + timedelta(days=1)}, D, D) is None  # a day after the as-of waits


def bookings(*rows):
    import pyarrow as pa

    from pipelines.engagement import BOOKING_SCHEMA

    names = ["platform", "profile_id", "post_id", "kind", "day", "delta"]
    return pa.Table.from_pylist([dict(zip(names, r)) for r in rows], schema=BOOKING_SCHEMA)


def test_booking_changes_are_the_days_whose_booked_sums_or_presence_changed():
    from planning.nights import booking_changes

    before = bookings(
        ("x", "a", "p1", "likes", 10, 100),
        ("x", "a", "p1", "likes", 15, 5),
        ("x", "a", "p1", "likes", 16, 5),
        ("x", "a", "p2", "views", 12, 0),
    )
    # p1: a late observation books +5 again on day 16 (same row, new sum); p3 gains a counter on day 20
    after = bookings(
        ("x", "a", "p1", "likes", 10, 100),
        ("x", "a", "p1", "likes", 15, 5),
        ("x", "a", "p1", "likes", 16, 5),
        ("x", "a", "p1", "likes", 16, 5),
        ("x", "a", "p2", "views", 12, 0),
        ("x", "a", "p3", "saves", 20, 7),
    )
    changes = booking_changes(before, after)
    assert changes.days == {16, 20}
    assert changes.countered.to_pylist() == [
        {"platform": "x", "profile_id": "a", "post_id": "p3", "kind": "saves"}
    ]
    assert booking_changes(after, after).days == set()


def test_a_merge_reads_the_bookings_of_the_days_it_computes_and_every_countered_key():
    from planning.nights import bookings_for_days

    all_bookings = bookings(
        ("x", "a", "p1", "likes", 3, 100),
        ("x", "a", "p1", "likes", 10, 5),
        ("x", "a", "p1", "likes", 12, 5),
        ("x", "a", "p2", "views", 11, 9),
    )
    read = bookings_for_days(all_bookings, 10, 20, skipped={11})
    dated = sorted((r["post_id"], r["day"]) for r in read.to_pylist() if r["day"] is not None)
    assert dated == [("p1", 10), ("p1", 12)]
    assert sorted((r["post_id"], r["kind"]) for r in read.to_pylist() if r["day"] is None) == [
        ("p1", "likes"),
        ("p2", "views"),
    ]
