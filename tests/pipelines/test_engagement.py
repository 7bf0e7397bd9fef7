from datetime import date

import pyarrow as pa

from pipelines.engagement import daily_engagement, to_daily_dataset, trailing_engagement
from ingest.parse import parse_line
from ingest.tables import events_table
from tests.conftest import INGEST_US, event, line

EPOCH = date(1970, 1, 1)


def day(d: str) -> int:
    return (date.fromisoformat(d) - EPOCH).days


def events(*objs) -> pa.Table:
    rows = [parse_line(line(dict(o, event_id=o.get("event_id", f"e{i}"))), INGEST_US) for i, o in enumerate(objs)]
    return events_table(rows, "test.jsonl", list(range(1, len(rows) + 1)))


def daily_rows(table, last="2026-11-30"):
    daily, _ = daily_engagement(table, day(last))
    rows = to_daily_dataset(daily).to_pylist()
    return {(r["profile_id"], r["day"].isoformat()): r for r in rows}


def at(d, t="10:00:00"):
    return f"{d}T{t}Z"


def test_self_engagement_is_not_audience_engagement_and_creator_replies_count_apart():
    t = events(
        event("like", actor_id="bob", event_time=at("2026-11-20")),
        event("like", actor_id="alice", event_time=at("2026-11-20")),  # self-like
        event("comment", actor_id="carol", event_time=at("2026-11-20")),
        event("comment", actor_id="alice", reply_to="c1", event_time=at("2026-11-20")),  # creator reply
        event("share", actor_id="bob", event_time=at("2026-11-20")),
        event("save", actor_id="dave", event_time=at("2026-11-20")),
        event("post", post_id="p2", sponsored=True, event_time=at("2026-11-20")),
        event("post", post_id="p3", event_time=at("2026-11-20")),
    )
    row = daily_rows(t)[("alice", "2026-11-20")]
    assert (row["likes"], row["comments"], row["shares"], row["saves"]) == (1, 1, 1, 1)
    assert row["interactions"] == 4
    assert row["unique_engagers"] == 3  # bob, carol, dave
    assert row["creator_replies"] == 1
    assert (row["posts"], row["sponsored_posts"]) == (2, 1)
    assert row["followers_first"] is None and row["followers_last"] is None


def test_snapshot_ties_are_ordered_by_event_id():
    t = events(
        event("profile_snapshot", event_id="s-b", followers=200, event_time=at("2026-11-20", "12:00:00")),
        event("profile_snapshot", event_id="s-a", followers=100, event_time=at("2026-11-20", "12:00:00")),
        event("profile_snapshot", event_id="s-0", followers=50, event_time=at("2026-11-20", "13:00:00")),
    )
    row = daily_rows(t)[("alice", "2026-11-20")]
    assert (row["followers_first"], row["followers_last"]) == (100, 50)


def test_days_are_utc_days_and_later_days_than_as_of_do_not_count():
    t = events(
        event("like", event_time="2026-11-20T00:00:00Z"),
        event("like", event_time="2026-11-20T23:59:59.999999Z"),
        event("like", event_time="2026-11-21T00:30:00+01:00"),  # 23:30 UTC on the 20th
        event("like", event_time="2026-11-20T23:30:00-05:00"),  # 04:30 UTC on the 21st
        event("like", event_time=at("2026-11-22")),
    )
    rows = daily_rows(t, last="2026-11-21")
    assert {k: r["likes"] for k, r in rows.items()} == {("alice", "2026-11-20"): 3, ("alice", "2026-11-21"): 1}


def trailing_rows(table, last):
    daily, engagers = daily_engagement(table, day(last))
    out = trailing_engagement(daily, engagers, day(last)).to_pylist()
    return {(r["profile_id"], r["window_days"], r["window_end"].isoformat()): r for r in out}


def test_trailing_windows_count_distinct_engagers_over_the_whole_window():
    t = events(
        event("like", actor_id="bob", event_time=at("2026-11-01")),
        event("like", actor_id="bob", event_time=at("2026-11-03")),
        event("like", actor_id="carol", event_time=at("2026-11-03")),
        event("like", actor_id="bob", event_time=at("2026-11-09")),
    )
    rows = trailing_rows(t, "2026-11-09")
    assert rows[("alice", 7, "2026-11-07")]["unique_engagers"] == 2  # bob once, carol
    assert rows[("alice", 7, "2026-11-07")]["likes"] == 3
    assert rows[("alice", 7, "2026-11-08")]["unique_engagers"] == 2  # window 11-02..11-08
    assert rows[("alice", 7, "2026-11-09")]["unique_engagers"] == 2  # 11-03..11-09: bob, carol
    assert rows[("alice", 7, "2026-11-09")]["likes"] == 3
    assert rows[("alice", 28, "2026-11-09")]["unique_engagers"] == 2
    assert rows[("alice", 28, "2026-11-09")]["likes"] == 4


def test_trailing_rows_continue_after_the_last_event_while_the_window_holds_it():
    t = events(
        event("profile_snapshot", followers=10, event_time=at("2026-11-01")),
        event("profile_snapshot", followers=30, event_time=at("2026-11-05")),
    )
    rows = trailing_rows(t, "2026-11-30")
    sevens = sorted(e for (_, n, e) in rows if n == 7)
    assert sevens[0] == "2026-11-01" and sevens[-1] == "2026-11-11"  # 11-05 + 6 days
    assert len(sevens) == 11
    twenty_eights = sorted(e for (_, n, e) in rows if n == 28)
    assert twenty_eights[-1] == "2026-11-30"  # still holds 11-05: rows stop at the as-of day
    assert (rows[("alice", 28, "2026-11-30")]["followers_first"], rows[("alice", 28, "2026-11-30")]["followers_last"]) == (30, 30)
    assert (rows[("alice", 7, "2026-11-05")]["followers_first"], rows[("alice", 7, "2026-11-05")]["followers_last"]) == (10, 30)
    assert (rows[("alice", 7, "2026-11-08")]["followers_first"], rows[("alice", 7, "2026-11-08")]["followers_last"]) == (30, 30)
    assert (rows[("alice", 28, "2026-11-28")]["followers_first"], rows[("alice", 28, "2026-11-28")]["followers_last"]) == (10, 30)


def test_trailing_window_bounds_are_inclusive_of_the_first_day():
    t = events(event("post", event_time=at("2026-11-01")), event("post", post_id="p9", event_time=at("2026-11-07")))
    rows = trailing_rows(t, "2026-11-08")
    assert rows[("alice", 7, "2026-11-07")]["posts"] == 2  # 11-01..11-07
    assert rows[("alice", 7, "2026-11-08")]["posts"] == 1  # 11-02..11-08


def test_profiles_are_kept_apart_per_platform():
    t = events(event("like", event_time=at("2026-11-01")), event("like", platform="tiktok", event_time=at("2026-11-01")))
    daily, engagers = daily_engagement(t, day("2026-11-01"))
    assert sorted(daily["platform"].to_pylist()) == ["instagram", "tiktok"]
    trailing = trailing_engagement(daily, engagers, day("2026-11-01"))
    assert sorted(zip(trailing["platform"].to_pylist(), trailing["window_days"].to_pylist())) == [
        ("instagram", 7), ("instagram", 28), ("tiktok", 7), ("tiktok", 28)
    ]


def test_day_ranges_give_exactly_the_whole_aggregation():
    import random

    rng = random.Random(5)
    objs = []
    for i in range(400):
        kind = rng.choice(["like", "comment", "share", "post", "profile_snapshot"])
        fields = {"event_id": f"e{i}", "profile_id": rng.choice(["alice", "bob"]),
                  "event_time": at(f"2026-11-{rng.randint(10, 20)}", f"{rng.randint(0, 23):02d}:00:00")}
        if kind == "profile_snapshot":
            fields["followers"] = rng.randint(100, 200)
        elif kind != "post":
            fields["actor_id"] = rng.choice(["u1", "u2", "u3", "alice"])
        objs.append(event(kind, **fields))
    table = events(*objs)
    whole_daily, whole_engagers = daily_engagement(table, day("2026-11-30"))
    from pipelines.engagement import daily_engagement_by_day_ranges

    for max_rows in (1, 37, 100, 399):
        daily, engagers = daily_engagement_by_day_ranges(table, day("2026-11-30"), max_rows=max_rows)
        assert sorted(daily.to_pylist(), key=str) == sorted(whole_daily.to_pylist(), key=str), max_rows
        assert sorted(engagers.to_pylist(), key=str) == sorted(whole_engagers.to_pylist(), key=str), max_rows


def test_no_window_to_recompute_gives_an_empty_typed_table():
    # A rerun with the same as-of after events dated later landed: windows would start after the as-of.
    t = events(event("like", event_time=at("2026-11-03")), event("post", event_time=at("2026-11-05")))
    daily, engagers = daily_engagement(t, day("2026-11-05"))
    out = trailing_engagement(daily, engagers, day("2026-11-05"), recompute_from=day("2026-11-06"))
    assert out.num_rows == 0
    assert out.column_names[-1] == "window_end" and out.schema.field("platform").type == pa.string()


def test_windows_from_a_first_end_day_are_those_of_the_whole_computation():
    import random

    rng = random.Random(7)
    objs = [event(rng.choice(["like", "comment", "share"]), event_id=f"r{i}", actor_id=f"u{rng.randint(0, 9)}",
                  profile_id=rng.choice(["alice", "bob"]),
                  event_time=at(f"2026-11-{rng.randint(1, 24):02d}", f"{rng.randint(0, 23):02d}:00:00"))
            for i in range(400)]
    daily, engaged = daily_engagement(events(*objs), day("2026-11-30"))
    whole = trailing_engagement(daily, engaged, day("2026-11-30")).to_pylist()
    for first_end in ("2026-11-03", "2026-11-15", "2026-11-27"):  # the last after every event
        part = trailing_engagement(daily, engaged, day("2026-11-30"), day(first_end)).to_pylist()
        expected = [r for r in whole if r["window_end"] >= date.fromisoformat(first_end)]
        assert sorted(part, key=str) == sorted(expected, key=str) and expected


def test_v2_rows_are_not_interactions_and_a_like_without_actor_is_one_without_an_engager():
    """Until the engine books counters and follows (contract v2), a follow or a post_metrics row
    counts as no interaction and names no engager; an interaction without actor_id counts and
    adds no engager."""
    t = events(
        event("follow", actor_id="fan", event_time=at("2026-11-20")),
        event("post_metrics", likes=500, comments=40, views=9000, event_time=at("2026-11-20")),
        event("like", actor_id=None, event_time=at("2026-11-20")),
        event("comment", actor_id=None, event_time=at("2026-11-20")),
        event("like", actor_id="bob", event_time=at("2026-11-20")),
        event("profile_snapshot", followers=100, followers_precision=10, event_time=at("2026-11-20")),
    )
    r = daily_rows(t)[("alice", "2026-11-20")]
    assert (r["likes"], r["comments"], r["shares"], r["saves"], r["interactions"]) == (2, 1, 0, 0, 3)
    assert r["unique_engagers"] == 1  # bob; the follower and the unnamed likers are no engagers
    assert r["creator_replies"] == 0 and r["posts"] == 0
    assert (r["followers_first"], r["followers_last"]) == (100, 100)
