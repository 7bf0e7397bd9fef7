"""YouTube Data API v3: rounded and hidden subscriber counts, videos, playlists, search, errors."""

from __future__ import annotations

import pytest
from importer_checks import FIXTURES, assert_accounted, assert_contract, by_type, read_events

from importers import run_import
from importers.core import MissingObservedAt, sigfig_precision
from importers.youtube import map_page

OBS = "2024-03-05T00:00:00Z"


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    out = tmp_path_factory.mktemp("landing")
    files = ["youtube_channels.jsonl", "youtube_videos.json", "youtube_playlist_search.jsonl"]
    summary = run_import("youtube-api", out, [str(FIXTURES / f) for f in files], observed_at=OBS)
    return summary, read_events(out)


@pytest.mark.parametrize(
    "count,precision",
    [(1234567, 10000), (123000, 1000), (999, 1), (1000, 10), (0, 1), (12, 1), (1_230_000_000, 10_000_000)],
)
def test_three_significant_figure_precision(count, precision):
    assert sigfig_precision(count, 3) == precision


def test_contract_and_accounting(imported):
    summary, events = imported
    assert_contract(events)
    assert_accounted(summary)
    assert summary.rejected == {}
    assert summary.skipped == {
        "hidden_subscriber_count": 2,
        "api_error:quotaExceeded": 1,
        "private_or_deleted_video": 1,
        "search_result_not_a_video": 1,
        "upcoming_broadcast": 1,
    }


def test_channel_snapshots_with_precision_hidden_counts_give_none(imported):
    snaps = {e["profile_id"]: e for e in by_type(imported[1], "profile_snapshot")}
    assert set(snaps) == {"UCaaaaaaaaaaaaaaaaaaaaa1", "UCaaaaaaaaaaaaaaaaaaaaa2", "UCaaaaaaaaaaaaaaaaaaaaa3"}
    big = snaps["UCaaaaaaaaaaaaaaaaaaaaa1"]
    assert (
        big["followers"],
        big["followers_precision"],
        big["media_count"],
        big["handle"],
        big["display_name"],
        big["country"],
        big["event_time"],
    ) == (1234567, 10000, 42, "@bigkitchen", "Big Kitchen", "DE", OBS)
    assert snaps["UCaaaaaaaaaaaaaaaaaaaaa2"]["followers_precision"] == 1000
    assert snaps["UCaaaaaaaaaaaaaaaaaaaaa3"]["followers_precision"] == 1


def test_videos_are_posts_and_statistics_observations(imported):
    events = imported[1]
    posts = {}
    for e in by_type(events, "post"):
        posts.setdefault(e["post_id"], e)  # videos.list's copy; search.list's has fewer fields
    v1 = posts["dQw4w9WgXc1"]
    assert (v1["profile_id"], v1["event_time"], v1["media_type"], v1["language"]) == (
        "UCaaaaaaaaaaaaaaaaaaaaa2",
        "2024-02-10T15:00:07Z",
        "video",
        "fr",
    )
    assert v1["hashtags"] == ["shorts", "crepes", "dessert"]
    metrics = {e["post_id"]: e for e in by_type(events, "post_metrics")}
    assert (
        metrics["dQw4w9WgXc1"]["views"],
        metrics["dQw4w9WgXc1"]["likes"],
        metrics["dQw4w9WgXc1"]["comments"],
    ) == (15320, 800, 41)
    hidden = metrics["dQw4w9WgXc2"]
    assert hidden["views"] == 2000 and "likes" not in hidden and "comments" not in hidden
    assert "dQw4w9WgXc3" in posts and "dQw4w9WgXc3" not in metrics  # no statistics part: no observation


def test_the_same_video_from_search_and_videos_list_is_one_post(imported):
    ids = {e["event_id"] for e in by_type(imported[1], "post") if e["post_id"] == "dQw4w9WgXc1"}
    assert len(ids) == 1


def test_playlist_items_use_the_video_publish_time_and_owner(imported):
    posts = {e["post_id"]: e for e in by_type(imported[1], "post")}
    assert posts["tinyvideo01"]["profile_id"] == "UCaaaaaaaaaaaaaaaaaaaaa3"
    assert "tinyvideo03" not in posts  # "Private video": skipped


def test_statistics_without_observation_time_are_refused():
    with pytest.raises(MissingObservedAt):
        map_page(
            {"items": [{"kind": "youtube#channel", "id": "UC1", "statistics": {"subscriberCount": "5"}}]}
        )


def test_odd_items_are_rejected_or_skipped_not_fatal():
    out = map_page(
        {
            "items": [
                {"kind": "youtube#channel", "id": "UC1", "statistics": {"subscriberCount": "-3"}},
                {"kind": "youtube#video", "id": "v"},
                7,
                {"kind": "youtube#comment"},
                {"kind": "youtube#subscription"},
            ]
        },
        OBS,
    )
    assert [r[0] for r in out.rejected] == ["negative_count", "missing_field", "invalid_type"]
    assert [r[0] for r in out.skipped] == ["comment_without_video_or_author", "unsupported_kind"]


def test_paid_product_placement_marks_the_post_sponsored():
    video = {
        "kind": "youtube#video",
        "id": "v1",
        "snippet": {"channelId": "UC1", "publishedAt": "2024-01-01T00:00:00Z"},
        "paidProductPlacementDetails": {"hasPaidProductPlacement": True},
    }
    assert map_page({"items": [video]}, OBS).events[0]["sponsored"] is True
    del video["paidProductPlacementDetails"]
    assert "sponsored" not in map_page({"items": [video]}, OBS).events[0]  # not declared: unknown, absent


def test_shapes_seen_in_real_responses(tmp_path):
    # Modelled on real responses (python-youtube test data): playlist items requested with
    # part=snippet only carry the time the video was added, not posted; responses from before
    # videoOwnerChannelId existed name the owner only through the uploads playlist (UC… → UU…);
    # videos.list without part=statistics is a post without counters; insert responses and OAuth
    # errors are saved into the same folders.
    summary = run_import(
        "youtube-api",
        tmp_path,
        [str(FIXTURES / "youtube_real_shapes.jsonl")],
        observed_at="2019-12-01T00:00:00Z",
    )
    events = read_events(tmp_path)
    assert_contract(events)
    assert_accounted(summary)
    posts = {e["post_id"]: e for e in by_type(events, "post")}
    assert set(posts) == {"vidUpload01", "vidPlayer01"}
    assert posts["vidUpload01"]["profile_id"] == "UCaaaaaaaaaaaaaaaaaaaaaa"
    assert posts["vidUpload01"]["event_time"] == "2019-03-21T20:37:49Z"  # published, not added
    assert by_type(events, "post_metrics") == []
    assert [
        (e["profile_id"], e["followers"], e["followers_precision"])
        for e in by_type(events, "profile_snapshot")
    ] == [("UCbbbbbbbbbbbbbbbbbbbbbb", 2260000, 10000)]
    assert summary.skipped == {
        "no_content_details": 1,
        "video_owner_unknown": 1,
        "private_or_deleted_video": 1,
        "no_statistics": 1,
        "unsupported_kind": 1,
        "api_error": 1,
    }
    assert summary.rejected == {}


def test_an_empty_list_response_has_no_items_and_no_records():
    # YouTube leaves `items` out when nothing matched (e.g. a terminated channel).
    out = map_page({"kind": "youtube#channelListResponse", "etag": "e", "pageInfo": {"totalResults": 0}})
    assert out.records == 0


def test_items_saved_without_kind_are_recognised():
    # A request with fields=items(id,snippet,statistics) drops `kind` from the items and the list.
    channel = {
        "id": "UCChrbRHtEv-zh3VsN8u6EWQ",
        "snippet": {"title": "DNartes"},
        "statistics": {"subscriberCount": "37100", "hiddenSubscriberCount": False, "videoCount": "144"},
    }
    (snap,) = map_page({"items": [channel]}, "2024-03-01T00:00:00Z").events
    assert (snap["followers"], snap["followers_precision"]) == (37100, 100)
    video = {"id": "XYAe15w39LQ", "snippet": {"channelId": "UCx", "publishedAt": "2023-02-24T21:56:36Z"}}
    listed = map_page({"kind": "youtube#videoListResponse", "items": [video]}, "2024-03-01T00:00:00Z")
    assert [e["event_type"] for e in listed.events] == ["post"]


def test_a_scheduled_stream_in_videos_list_is_skipped_like_in_search():
    upcoming = {
        "kind": "youtube#video",
        "id": "LiveSoon001",
        "snippet": {
            "channelId": "UCx",
            "publishedAt": "2024-02-20T10:00:00Z",
            "liveBroadcastContent": "upcoming",
        },
        "statistics": {"viewCount": "0", "likeCount": "0"},
        "liveStreamingDetails": {"scheduledStartTime": "2024-03-09T18:00:00Z"},
    }
    out = map_page({"kind": "youtube#videoListResponse", "items": [upcoming]}, OBS)
    assert out.events == [] and [r for r, _ in out.skipped] == ["upcoming_broadcast"]
    aired = {**upcoming, "snippet": {**upcoming["snippet"], "liveBroadcastContent": "none"}}
    assert {e["event_type"] for e in map_page({"items": [aired]}, OBS).events} == {"post", "post_metrics"}


def _comment(cid, author, published, **snippet):
    return {
        "kind": "youtube#comment",
        "id": cid,
        "snippet": {"authorChannelId": {"value": author}, "publishedAt": published, **snippet},
    }


def test_comment_threads_are_comments_by_their_authors_on_the_video():
    thread = {
        "kind": "youtube#commentThread",
        "id": "Ugz1",
        "snippet": {
            "channelId": "UCowner",
            "videoId": "vid1",
            "topLevelComment": _comment("Ugz1", "UCfan", "2024-01-06T20:30:09Z", videoId="vid1"),
            "totalReplyCount": 2,
        },
        "replies": {
            "comments": [
                _comment("Ugz1.r1", "UCowner", "2024-01-07T08:00:00Z", parentId="Ugz1"),
                {"kind": "youtube#comment", "id": "Ugz1.r2", "snippet": {"parentId": "Ugz1"}},  # author gone
            ]
        },
    }
    on_channel = {"kind": "youtube#commentThread", "id": "Ugc9", "snippet": {"channelId": "UCowner"}}
    out = map_page({"kind": "youtube#commentThreadListResponse", "items": [thread, on_channel]})
    assert [
        (e["event_type"], e["profile_id"], e["post_id"], e["actor_id"], e["event_time"]) for e in out.events
    ] == [
        ("comment", "UCowner", "vid1", "UCfan", "2024-01-06T20:30:09Z"),
        ("comment", "UCowner", "vid1", "UCowner", "2024-01-07T08:00:00Z"),
    ]
    assert out.records == 2 and [r for r, _ in out.skipped] == ["comment_not_on_a_video"]
    assert_contract(out.events)
    # comments.list (a thread's further replies) names the video on each comment; the same reply is one event
    replies = {
        "kind": "youtube#commentListResponse",
        "items": [
            _comment("Ugz1.r1", "UCowner", "2024-01-07T08:00:00Z", videoId="vid1", channelId="UCowner")
        ],
    }
    assert [e["event_id"] for e in map_page(replies).events] == [out.events[1]["event_id"]]
    assert [r for r, _ in map_page({"items": [_comment("x", "UCa", "2024-01-01T00:00:00Z")]}).skipped] == [
        "comment_without_video_or_author"
    ]
