"""Bluesky AppView responses and Jetstream commits."""

from __future__ import annotations

import pytest
from importer_checks import FIXTURES, assert_accounted, assert_contract, by_type, read_events

from importers import run_import
from importers.bluesky import map_page
from importers.core import MissingObservedAt, event_id

A, B, C = (
    "did:plc:alice000000000000000000",
    "did:plc:bob00000000000000000000",
    "did:plc:carol0000000000000000000",
)
OBS = "2024-03-05T00:00:00Z"
A1 = f"at://{A}/app.bsky.feed.post/3kalice00001"
B1 = f"at://{B}/app.bsky.feed.post/3kbob0000001"
C1 = f"at://{C}/app.bsky.feed.post/3kcarol00001"


def _import(tmp_path, *names, observed_at=OBS):
    summary = run_import("bluesky", tmp_path, [str(FIXTURES / n) for n in names], observed_at=observed_at)
    events = read_events(tmp_path)
    assert_contract(events)
    assert_accounted(summary)
    return summary, events


def test_author_feed_posts_counters_and_reposts_as_shares(tmp_path):
    summary, events = _import(tmp_path, "bluesky_author_feed.jsonl")
    posts = {e["post_id"]: e for e in by_type(events, "post")}
    assert set(posts) == {
        A1,
        f"at://{A}/app.bsky.feed.post/3kalice00002",
        f"at://{A}/app.bsky.feed.post/3kalice00003",
    }
    assert B1 not in posts  # reposted by alice: a share, not a post of anyone
    assert (
        posts[A1]["hashtags"] == ["sourdough"]
        and posts[A1]["media_type"] == "image"
        and posts[A1]["language"] == "en"
    )
    share = [e for e in by_type(events, "share") if e["actor_id"] == A and e["post_id"] == B1]
    assert [(s["profile_id"], s["event_time"]) for s in share] == [
        (B, "2024-03-01T13:00:00Z"),
        (B, "2024-03-02T11:00:00Z"),
    ][: len(share)]
    assert {s["event_id"] for s in share} >= {event_id("bluesky", "share", A, B1)}
    metrics = {e["post_id"]: e for e in by_type(events, "post_metrics")}
    assert (metrics[A1]["likes"], metrics[A1]["comments"], metrics[A1]["shares"]) == (3, 1, 2)
    assert B1 not in metrics  # the reposted post's counters are not booked from alice's feed
    assert summary.imported == 5


def test_reply_and_quote_in_feed(tmp_path):
    _, events = _import(tmp_path, "bluesky_author_feed.jsonl")
    comment = by_type(events, "comment")[0]
    assert (comment["post_id"], comment["profile_id"], comment["actor_id"]) == (B1, B, A)
    quote = [
        e
        for e in by_type(events, "share")
        if e["event_id"] == event_id("bluesky", "share", f"at://{A}/app.bsky.feed.post/3kalice00003")
    ][0]
    assert quote["event_time"] == "2024-03-02T11:00:00Z"  # +01:00 normalised to UTC


def test_overlapping_pages_give_the_same_ids(tmp_path):
    _, events = _import(tmp_path, "bluesky_author_feed.jsonl")
    a1 = [e for e in events if e.get("post_id") == A1]
    assert len({e["event_id"] for e in a1 if e["event_type"] == "post"}) == 1
    assert len({e["event_id"] for e in a1 if e["event_type"] == "post_metrics"}) == 1  # same observation time


def test_profiles_and_likes(tmp_path):
    summary, events = _import(tmp_path, "bluesky_profiles.json", "bluesky_likes.json")
    snap = by_type(events, "profile_snapshot")
    assert [
        (s["profile_id"], s["followers"], s["following"], s["media_count"], s["handle"]) for s in snap
    ] == [(A, 12400, 300, 812, "alice.bsky.social")]
    assert summary.skipped == {"no_follower_count": 1}
    likes = by_type(events, "like")
    assert {(e["actor_id"], e["profile_id"], e["post_id"]) for e in likes} == {(B, A, A1), (C, A, A1)}
    assert sorted(e["event_time"] for e in likes) == ["2024-03-01T10:04:59.123Z", "2024-03-01T10:06:00Z"]


def test_jetstream_commits_deletes_counted_not_imported(tmp_path):
    summary, events = _import(tmp_path, "bluesky_jetstream.jsonl", observed_at=None)
    assert summary.skipped == {
        "deleted": 2,
        "jetstream_identity": 1,
        "jetstream_account": 1,
        "unsupported_collection": 1,
        "subject_not_a_post": 1,
    }
    assert summary.rejected == {"invalid_json": 1}  # the last line is cut short
    assert [e["post_id"] for e in by_type(events, "post")] == [
        C1,
        f"at://{B}/app.bsky.feed.post/3kbob0000009",
    ]
    like = by_type(events, "like")[0]
    assert (like["profile_id"], like["actor_id"], like["post_id"]) == (C, B, C1)
    assert like["event_id"] == event_id("bluesky", "like", B, C1)  # the same id getLikes would give
    share = by_type(events, "share")[0]
    assert (share["profile_id"], share["actor_id"]) == (C, A)
    follow = by_type(events, "follow")[0]
    assert (follow["profile_id"], follow["actor_id"], follow["event_time"]) == (C, A, "2024-03-01T10:05:00Z")
    assert by_type(events, "comment")[0]["profile_id"] == C
    assert by_type(events, "post")[0]["language"] == "de" and by_type(events, "post")[0]["hashtags"] == [
        "brot"
    ]


def test_jetstream_falls_back_to_time_us():
    out = map_page(
        {
            "did": A,
            "time_us": 1709287500000000,
            "kind": "commit",
            "commit": {
                "operation": "create",
                "collection": "app.bsky.graph.follow",
                "rkey": "r",
                "record": {"subject": B},
            },
        }
    )
    assert out.events[0]["event_time"] == "2024-03-01T10:05:00Z"


def test_appview_counters_need_an_observation_time():
    with pytest.raises(MissingObservedAt):
        map_page({"did": A, "handle": "a", "followersCount": 5})


def test_odd_responses():
    assert (
        map_page({"error": "InvalidRequest", "message": "Profile not found"}).skipped[0][0]
        == "api_error:InvalidRequest"
    )
    assert map_page({"foo": 1}).rejected[0][0] == "unrecognized_page"
    assert map_page({"feed": [{"post": {"uri": "at://x"}}]}, OBS).rejected[0][0] == "missing_field"
    assert map_page({"likes": [], "uri": "nope"}).rejected[0][0] == "missing_field"
    assert (
        map_page(
            {"feed": [{"post": {"$type": "app.bsky.feed.defs#notFoundPost", "uri": A1, "notFound": True}}]}
        ).skipped[0][0]
        == "deleted_or_blocked_post"
    )


def test_follower_lists_are_counted_but_cannot_be_dated():
    out = map_page(
        {"subject": {"did": A, "handle": "a"}, "followers": [{"did": B}, {"did": C}], "cursor": "x"}
    )
    assert out.events == [] and [r for r, _ in out.skipped] == ["follower_list_without_times"] * 2


def test_thread_and_repo_record_shapes_seen_in_real_responses(tmp_path):
    # Modelled on real responses (client test data): getPostThread with a deleted parent and a
    # reply; listRecords / getRecord values whose createdAt has microseconds, a +00:00 offset or no
    # offset at all; a feed generator record; a record whose $type is not its collection's; a
    # `feed` list and a post view saved as a bare JSON array.
    summary = run_import(
        "bluesky", tmp_path, [str(FIXTURES / "bluesky_real_shapes.jsonl")], observed_at="2024-03-01T00:00:00Z"
    )
    events = read_events(tmp_path)
    assert_contract(events)
    assert_accounted(summary)
    posts = {e["post_id"]: e for e in by_type(events, "post")}
    assert set(posts) == {
        "at://did:plc:thrdauthor/app.bsky.feed.post/3kaheyt6vpc22",
        "at://did:plc:replier/app.bsky.feed.post/3kahf00",
        "at://did:plc:thrdauthor/app.bsky.feed.post/3k2yihcrp6f2c",
        "at://did:plc:osm/app.bsky.feed.post/3k3r7mrdhvc2c",
        "at://did:plc:osm/app.bsky.feed.post/3k3r7myqqzo2z",
    }
    assert posts["at://did:plc:thrdauthor/app.bsky.feed.post/3k2yihcrp6f2c"]["event_time"] == (
        "2024-02-22T19:58:13.903293Z"
    )
    assert [e["likes"] for e in by_type(events, "post_metrics")] == [3, 1, 2, 2]
    comment = by_type(events, "comment")[0]
    assert (comment["profile_id"], comment["actor_id"]) == ("did:plc:thrdauthor", "did:plc:replier")
    assert by_type(events, "share")[0]["post_id"] == "at://did:plc:quoted/app.bsky.feed.post/3k5abc"
    like = by_type(events, "like")[0]
    assert (like["profile_id"], like["event_time"]) == ("did:plc:replier", "2023-08-26T12:56:31.04424Z")
    follow = by_type(events, "follow")[0]
    assert (follow["profile_id"], follow["actor_id"]) == ("did:plc:replier", "did:plc:thrdauthor")
    assert summary.skipped == {
        "deleted_or_blocked_post": 1,
        "unsupported_collection": 1,
        "record_type_mismatch": 1,
    }
    assert summary.rejected == {}


def test_post_thread_v2_flat_list_is_imported_not_silently_empty():
    # app.bsky.unspecced.getPostThreadV2: `thread` is a flat list of {uri, depth, value}.
    view = {
        "uri": A1,
        "author": {"did": A, "handle": "a"},
        "record": {"$type": "app.bsky.feed.post", "text": "hi", "createdAt": "2024-03-01T10:00:00Z"},
        "likeCount": 5,
        "replyCount": 1,
        "repostCount": 2,
        "quoteCount": 0,
        "indexedAt": "2024-03-01T10:00:01Z",
    }
    item = "app.bsky.unspecced.defs#threadItem"
    out = map_page(
        {
            "thread": [
                {"uri": B1, "depth": -1, "value": {"$type": f"{item}Blocked", "author": {"did": B}}},
                {"uri": A1, "depth": 0, "value": {"$type": f"{item}Post", "post": view, "opThread": True}},
                {"uri": C1, "depth": 1, "value": {"$type": f"{item}NotFound"}},
                {"uri": C1, "depth": 1, "value": {"$type": f"{item}NoUnauthenticated"}},
            ],
            "hasOtherReplies": False,
        },
        OBS,
    )
    assert out.records == 4 and out.imported == 1
    assert sorted(r for r, _ in out.skipped) == [
        "deleted_or_blocked_post",
        "deleted_or_blocked_post",
        "hidden_from_logged_out_readers",
    ]
    assert {e["event_type"] for e in out.events} == {"post", "post_metrics"}


def test_an_empty_follower_list_is_an_empty_page():
    out = map_page({"followers": [], "subject": {"did": A, "handle": "a"}})
    assert out.records == 0 and out.rejected == []


def test_first_jetstream_format_is_read_like_the_current_one():
    # Jetstream's first releases: "type": "com" | "id" | "acc", commit "type": "c" | "u" | "d".
    like = {
        "did": B,
        "time_us": 1725911162329308,
        "type": "com",
        "commit": {
            "rev": "3l3qo2vutsw2b",
            "type": "c",
            "collection": "app.bsky.feed.like",
            "rkey": "3l3qo2vuowo2b",
            "record": {
                "$type": "app.bsky.feed.like",
                "createdAt": "2024-09-09T19:46:02.102Z",
                "subject": {"uri": A1},
            },
        },
    }
    out = map_page(like)
    assert [(e["event_type"], e["actor_id"], e["profile_id"]) for e in out.events] == [("like", B, A)]
    gone = {**like, "commit": {"type": "d", "collection": "app.bsky.feed.like", "rkey": "3l3qo2vuowo2b"}}
    assert [r for r, _ in map_page(gone).skipped] == ["deleted"]
    assert [r for r, _ in map_page({"did": B, "time_us": 1, "type": "id", "identity": {}}).skipped] == [
        "jetstream_identity"
    ]


def test_a_backdated_created_at_falls_back_to_jetstream_time_and_handle_invalid_is_no_handle():
    line = {
        "did": A,
        "time_us": 1732000000000000,
        "kind": "commit",
        "commit": {
            "operation": "create",
            "collection": "app.bsky.feed.post",
            "rkey": "3lbdpost0002",
            "record": {"$type": "app.bsky.feed.post", "text": "x", "createdAt": "0001-01-01T00:00:00Z"},
        },
    }
    (post,) = map_page(line).events
    assert post["event_time"] == "2024-11-19T07:06:40Z"
    (snap,) = map_page(
        {"profiles": [{"did": C, "handle": "handle.invalid", "followersCount": 9}]}, OBS
    ).events
    assert "handle" not in snap


def test_a_repo_record_with_no_time_of_its_own_or_of_the_service_is_rejected():
    bare = {"uri": "at://did:plc:aaa/app.bsky.feed.like/3k1", "value": {"subject": {"uri": A1}}}
    assert map_page(bare).rejected == [("missing_field", "no createdAt or time_us")]
    year_one = {**bare, "value": {"subject": {"uri": A1}, "createdAt": "0001-01-01T00:00:00Z"}}
    assert [r for r, _ in map_page(year_one).rejected] == ["invalid_timestamp"]
