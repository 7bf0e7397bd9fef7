from datetime import date

import pyarrow as pa

from ingest.parse import parse_line
from ingest.tables import events_table
from pipelines.engagement import daily_engagement, to_daily_dataset, trailing_engagement
from tests.conftest import INGEST_US, event, line

EPOCH = date(1970, 1, 1)


def day(d: str) -> int:
    return (date.fromisoformat(d) - EPOCH).days


def events(*objs) -> pa.Table:
    rows = [
        parse_line(line(dict(o, event_id=o.get("event_id", f"e{i}"))), INGEST_US) for i, o in enumerate(objs)
    ]
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
    assert {k: r["likes"] for k, r in rows.items()} == {
        ("alice", "2026-11-20"): 3,
        ("alice", "2026-11-21"): 1,
    }


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
    assert (
        rows[("alice", 28, "2026-11-30")]["followers_first"],
        rows[("alice", 28, "2026-11-30")]["followers_last"],
    ) == (30, 30)
    assert (
        rows[("alice", 7, "2026-11-05")]["followers_first"],
        rows[("alice", 7, "2026-11-05")]["followers_last"],
    ) == (10, 30)
    assert (
        rows[("alice", 7, "2026-11-08")]["followers_first"],
        rows[("alice", 7, "2026-11-08")]["followers_last"],
    ) == (30, 30)
    assert (
        rows[("alice", 28, "2026-11-28")]["followers_first"],
        rows[("alice", 28, "2026-11-28")]["followers_last"],
    ) == (10, 30)


def test_trailing_window_bounds_are_inclusive_of_the_first_day():
    t = events(
        event("post", event_time=at("2026-11-01")), event("post", post_id="p9", event_time=at("2026-11-07"))
    )
    rows = trailing_rows(t, "2026-11-08")
    assert rows[("alice", 7, "2026-11-07")]["posts"] == 2  # 11-01..11-07
    assert rows[("alice", 7, "2026-11-08")]["posts"] == 1  # 11-02..11-08


def test_profiles_are_kept_apart_per_platform():
    t = events(
        event("like", event_time=at("2026-11-01")),
        event("like", platform="tiktok", event_time=at("2026-11-01")),
    )
    daily, engagers = daily_engagement(t, day("2026-11-01"))
    assert sorted(daily["platform"].to_pylist()) == ["instagram", "tiktok"]
    trailing = trailing_engagement(daily, engagers, day("2026-11-01"))
    assert sorted(zip(trailing["platform"].to_pylist(), trailing["window_days"].to_pylist())) == [
        ("instagram", 7),
        ("instagram", 14),
        ("instagram", 28),
        ("tiktok", 7),
        ("tiktok", 14),
        ("tiktok", 28),
    ]


def test_day_ranges_give_exactly_the_whole_aggregation():
    import random

    rng = random.Random(5)
    objs = []
    for i in range(400):
        kind = rng.choice(["like", "comment", "share", "post", "profile_snapshot"])
        fields = {
            "event_id": f"e{i}",
            "profile_id": rng.choice(["alice", "bob"]),
            "event_time": at(f"2026-11-{rng.randint(10, 20)}", f"{rng.randint(0, 23):02d}:00:00"),
        }
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
    objs = [
        event(
            rng.choice(["like", "comment", "share"]),
            event_id=f"r{i}",
            actor_id=f"u{rng.randint(0, 9)}",
            profile_id=rng.choice(["alice", "bob"]),
            event_time=at(f"2026-11-{rng.randint(1, 24):02d}", f"{rng.randint(0, 23):02d}:00:00"),
        )
        for i in range(400)
    ]
    daily, engaged = daily_engagement(events(*objs), day("2026-11-30"))
    whole = trailing_engagement(daily, engaged, day("2026-11-30")).to_pylist()
    for first_end in ("2026-11-03", "2026-11-15", "2026-11-27"):  # the last after every event
        part = trailing_engagement(daily, engaged, day("2026-11-30"), day(first_end)).to_pylist()
        expected = [r for r in whole if r["window_end"] >= date.fromisoformat(first_end)]
        assert sorted(part, key=str) == sorted(expected, key=str) and expected


def test_follows_are_new_followers_and_a_like_without_actor_is_one_without_an_engager():
    """A follow is a new follower, no interaction, no engager; an interaction without actor_id
    counts and adds no engager."""
    t = events(
        event("follow", actor_id="fan", event_time=at("2026-11-20")),
        event("follow", actor_id="fan2", event_time=at("2026-11-20")),
        event("like", actor_id=None, event_time=at("2026-11-20")),
        event("comment", actor_id=None, event_time=at("2026-11-20")),
        event("like", actor_id="bob", event_time=at("2026-11-20")),
        event("profile_snapshot", followers=100, followers_precision=10, event_time=at("2026-11-20")),
    )
    r = daily_rows(t)[("alice", "2026-11-20")]
    assert (r["likes"], r["comments"], r["shares"], r["saves"], r["interactions"]) == (2, 1, 0, 0, 3)
    assert r["new_followers"] == 2 and r["views"] == 0
    assert r["unique_engagers"] == 1  # bob; the followers and the unnamed likers are no engagers
    assert r["creator_replies"] == 0 and r["posts"] == 0
    assert (r["followers_first"], r["followers_last"]) == (100, 100)


# --- counter booking (SPEC section 3: engagement from events and from counters, never both) ----


def test_counters_replace_the_events_of_their_post_and_kind_only():
    t = events(
        event("post_metrics", post_id="p1", likes=500, views=9000, event_time=at("2026-11-20")),
        event("like", post_id="p1", actor_id="bob", event_time=at("2026-11-20")),  # countered: no count
        event("comment", post_id="p1", actor_id="carol", event_time=at("2026-11-20")),  # no comments counter
        event("like", post_id="p2", actor_id="dave", event_time=at("2026-11-20")),  # another post
        event("comment", post_id="p1", actor_id="alice", event_time=at("2026-11-20")),  # creator reply
    )
    r = daily_rows(t)[("alice", "2026-11-20")]
    assert (r["likes"], r["comments"], r["views"]) == (501, 1, 9000)
    assert r["interactions"] == 502  # views are not interactions
    assert r["unique_engagers"] == 3  # bob still engaged
    assert r["creator_replies"] == 1


def test_first_observation_books_on_the_publish_day_later_changes_on_their_day_negative_allowed():
    t = events(
        event("post", post_id="p1", event_time=at("2026-11-02")),
        event("post_metrics", post_id="p1", likes=100, event_time=at("2026-11-10")),
        event("post_metrics", post_id="p1", likes=130, event_time=at("2026-11-12")),
        event("post_metrics", post_id="p1", likes=120, event_time=at("2026-11-15")),
        event("post_metrics", post_id="p9", likes=40, event_time=at("2026-11-15")),  # no post event
    )
    rows = daily_rows(t)
    assert rows[("alice", "2026-11-02")]["likes"] == 100
    assert rows[("alice", "2026-11-10")]["likes"] == 0  # the observation's own day: nothing new
    assert rows[("alice", "2026-11-12")]["likes"] == 30
    assert rows[("alice", "2026-11-15")]["likes"] == -10 + 40


def test_observations_are_ordered_by_event_time_then_event_id_not_by_arrival():
    t = events(
        event("post_metrics", event_id="m-b", likes=50, event_time=at("2026-11-12")),
        event("post_metrics", event_id="m-c", likes=80, event_time=at("2026-11-14")),
        event(
            "post_metrics", event_id="m-a", likes=20, event_time=at("2026-11-12")
        ),  # same time, first by id
    )
    rows = daily_rows(t)
    assert rows[("alice", "2026-11-12")]["likes"] == 50  # 20 first, then +30, same day
    assert rows[("alice", "2026-11-14")]["likes"] == 30


def test_a_publish_day_or_observation_before_the_horizon_books_on_its_first_day():
    from pipelines.engagement import counter_bookings

    t = events(
        event("post", post_id="old", event_time=at("2024-01-01")),
        event("post_metrics", post_id="old", likes=70, event_time=at("2026-11-20")),
        event("post_metrics", post_id="older", likes=5, event_time=at("2025-01-01")),
        event("post_metrics", post_id="older", likes=9, event_time=at("2026-11-21")),
    )
    b = counter_bookings(t, horizon_day=day("2026-11-01")).to_pylist()
    got = sorted((r["post_id"], r["day"], r["delta"]) for r in b)
    assert got == [
        ("old", day("2026-11-01"), 70),
        ("older", day("2026-11-01"), 5),
        ("older", day("2026-11-21"), 4),
    ]


def test_unique_engagers_is_null_where_engagement_comes_only_from_counters():
    t = events(
        event("post_metrics", post_id="p1", likes=10, event_time=at("2026-11-10")),
        event("like", post_id="p1", actor_id="bob", event_time=at("2026-11-20")),
        event("post", post_id="p3", event_time=at("2026-11-25")),
    )
    rows = daily_rows(t)
    assert rows[("alice", "2026-11-10")]["unique_engagers"] is None
    assert (
        rows[("alice", "2026-11-20")]["unique_engagers"] == 1 and rows[("alice", "2026-11-20")]["likes"] == 0
    )
    assert rows[("alice", "2026-11-25")]["unique_engagers"] == 0  # no engagement at all: zero, known
    tr = trailing_rows(t, "2026-11-30")
    assert tr[("alice", 7, "2026-11-12")]["unique_engagers"] is None  # only the counter
    assert tr[("alice", 14, "2026-11-20")]["unique_engagers"] == 1  # bob is known
    assert tr[("alice", 7, "2026-11-30")]["unique_engagers"] == 0  # 11-24..11-30: a post, no engagement


def random_history(seed, n=600):
    """Posts, counters (sometimes for a kind only, sometimes going down) and events, in any order."""
    import random

    rng = random.Random(seed)
    objs = []
    for i in range(n):
        post = f"p{rng.randint(0, 12)}"
        profile = rng.choice(["alice", "bob"])
        when = at(f"2026-11-{rng.randint(1, 20):02d}", f"{rng.randint(0, 23):02d}:00:00")
        kind = rng.choice(["like", "comment", "share", "save", "post", "post_metrics", "post_metrics"])
        fields = {"event_id": f"e{i}", "profile_id": profile, "post_id": post, "event_time": when}
        if kind == "post_metrics":
            for counter in rng.sample(["likes", "comments", "shares", "saves", "views"], rng.randint(1, 3)):
                fields[counter] = rng.randint(0, 500)
        elif kind != "post":
            fields["actor_id"] = rng.choice(["u1", "u2", None, "alice"])
        objs.append(event(kind, **fields))
    return objs


def test_the_invariant_sum_of_daily_engagement_is_last_counters_plus_events_of_uncountered_posts():
    for seed in (1, 2, 3):
        objs = random_history(seed)
        daily, _ = daily_engagement(events(*objs), day("2026-11-30"))
        kinds = {"like": "likes", "comment": "comments", "share": "shares", "save": "saves"}
        for profile in ("alice", "bob"):
            mine = [o for o in objs if o["profile_id"] == profile]
            for kind in ("likes", "comments", "shares", "saves", "views"):
                last = {}
                for o in sorted(
                    (o for o in mine if o["event_type"] == "post_metrics" and kind in o),
                    key=lambda o: (o["event_time"], o["event_id"]),
                ):
                    last[o["post_id"]] = o[kind]
                events_of_uncountered = sum(
                    1
                    for o in mine
                    if kinds.get(o["event_type"]) == kind
                    and o["post_id"] not in last
                    and o.get("actor_id") != profile
                )
                total = sum(r[kind] for r in daily.to_pylist() if r["profile_id"] == profile)
                assert total == sum(last.values()) + events_of_uncountered, (seed, profile, kind)


def test_day_ranges_give_exactly_the_whole_aggregation_with_counters():
    from pipelines.engagement import counter_bookings, daily_engagement_by_day_ranges

    table = events(*random_history(4, 400))
    bookings = counter_bookings(table)
    whole_daily, whole_engagers = daily_engagement(table, day("2026-11-30"), bookings=bookings)
    for max_rows in (1, 37, 100, 399):
        daily, engagers = daily_engagement_by_day_ranges(
            table, day("2026-11-30"), max_rows=max_rows, bookings=bookings
        )
        assert sorted(daily.to_pylist(), key=str) == sorted(whole_daily.to_pylist(), key=str), max_rows
        assert sorted(engagers.to_pylist(), key=str) == sorted(whole_engagers.to_pylist(), key=str), max_rows


def test_fourteen_day_windows_sit_beside_seven_and_twenty_eight():
    t = events(
        event("like", event_time=at("2026-11-01")),
        event("like", event_id="x", event_time=at("2026-11-10")),
        event("follow", event_id="f", event_time=at("2026-11-10")),
    )
    rows = trailing_rows(t, "2026-11-14")
    assert rows[("alice", 14, "2026-11-14")]["likes"] == 2 and rows[("alice", 7, "2026-11-14")]["likes"] == 1
    assert rows[("alice", 14, "2026-11-14")]["new_followers"] == 1
    assert ("alice", 14, "2026-11-15") not in rows and rows[("alice", 28, "2026-11-14")]["likes"] == 2
