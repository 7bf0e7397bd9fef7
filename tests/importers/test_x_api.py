"""X API v2 pages: posts, counters, replies, quotes, retweets, users, errors, withheld, cut lines."""

from __future__ import annotations

import json

import pytest
from importer_checks import FIXTURES, assert_accounted, assert_contract, by_type, read_events

from importers import run_import
from importers.core import MissingObservedAt, event_id
from importers.x_api import map_page

T = "17600000000000001"  # fixture tweet ids are T + two digits


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    out = tmp_path_factory.mktemp("landing")
    summary = run_import("x-api", out, [str(FIXTURES / "x_pages.jsonl")])
    return summary, read_events(out)


def test_every_event_fits_the_contract_and_every_record_is_accounted(imported):
    summary, events = imported
    assert_contract(events)
    assert_accounted(summary)
    assert summary.rejected == {"invalid_json": 1}  # the line cut short
    assert summary.skipped == {"deleted_or_not_found": 1, "protected_or_suspended": 2}  # one suspended user
    assert len(events) == sum(summary.events.values())


def test_posts_carry_time_language_hashtags_mentions_media(imported):
    posts = {}
    for e in by_type(imported[1], "post"):
        posts.setdefault(e["post_id"], e)  # the first page's copy, whose media is expanded
    original = posts[T + "00"]
    assert original["profile_id"] == "1001"
    assert original["event_time"] == "2024-03-01T10:00:00Z"
    assert original["language"] == "en" and original["hashtags"] == ["vegan", "baking"]
    assert original["mentions"] == ["1002"] and original["media_type"] == "image"
    assert original["event_id"] == event_id("x", "post", T + "00")
    assert "language" not in posts[T + "03"]  # lang "und" says nothing
    later = [e for e in by_type(imported[1], "post") if e["post_id"] == T + "00"][1]
    assert "media_type" not in later  # page 2 does not expand the media: unknown, not "other"
    assert T + "04" not in posts  # a retweet is not a post
    assert posts[T + "05"]["profile_id"] == "1003"  # withheld in DE and FR only: a post elsewhere


def test_same_tweet_in_two_pages_is_one_post_and_two_observations(imported):
    events = imported[1]
    assert len({e["event_id"] for e in by_type(events, "post") if e["post_id"] == T + "00"}) == 1
    obs = sorted(
        (e for e in by_type(events, "post_metrics") if e["post_id"] == T + "00"),
        key=lambda e: e["event_time"],
    )
    assert [o["event_time"] for o in obs] == ["2024-03-05T12:00:00Z", "2024-03-06T12:00:00Z"]
    assert obs[0] == {**obs[0], "likes": 40, "comments": 2, "shares": 6, "saves": 3, "views": 900}
    assert obs[1]["likes"] == 61 and obs[1]["shares"] == 10


def test_counters_the_page_lacks_are_absent_not_zero(imported):
    reply_obs = [e for e in by_type(imported[1], "post_metrics") if e["post_id"] == T + "01"]
    assert len(reply_obs) == 1
    assert "views" not in reply_obs[0] and "saves" not in reply_obs[0]
    assert reply_obs[0]["comments"] == 1


def test_reply_chain_gives_comments_on_the_replied_tweet_with_actor(imported):
    comments = {e["event_id"]: e for e in by_type(imported[1], "comment")}
    first = comments[event_id("x", "comment", T + "01")]
    assert (first["post_id"], first["profile_id"], first["actor_id"]) == (T + "00", "1001", "1002")
    # alice answers bob's reply: a comment on bob's tweet, author from the tweet found in data
    second = comments[event_id("x", "comment", T + "02")]
    assert (second["post_id"], second["profile_id"], second["actor_id"]) == (T + "01", "1002", "1001")


def test_quote_is_a_post_and_a_share_retweet_of_a_quote_is_a_share_of_the_quote(imported):
    shares = {e["event_id"]: e for e in by_type(imported[1], "share")}
    quote = shares[event_id("x", "share", T + "03")]
    assert (quote["post_id"], quote["profile_id"], quote["actor_id"]) == (T + "00", "1001", "1002")
    rt = shares[event_id("x", "share", T + "04")]
    assert (rt["post_id"], rt["profile_id"], rt["actor_id"]) == (T + "03", "1002", "1003")
    assert rt["event_time"] == "2024-03-02T10:00:00Z"
    # the retweet's public_metrics are the quote's: no observation is booked on the retweet
    assert not [e for e in by_type(imported[1], "post_metrics") if e["post_id"] == T + "04"]


def test_users_become_snapshots_with_handle_and_name(imported):
    snaps = [e for e in by_type(imported[1], "profile_snapshot") if e["profile_id"] == "1001"]
    assert {s["event_time"] for s in snaps} == {"2024-03-05T12:00:00Z", "2024-03-06T12:00:00Z"}
    s = snaps[0]
    assert (s["followers"], s["following"], s["media_count"], s["handle"], s["display_name"]) == (
        12400,
        310,
        2210,
        "alice_bakes",
        "Alice Bakes",
    )
    assert "followers_precision" not in s  # X counts are exact


def test_filtered_stream_line_with_single_data_object(imported):
    posts = [e for e in by_type(imported[1], "post") if e["post_id"] == "1760000000000000110"]
    assert posts and posts[0]["profile_id"] == "1003"


def test_retrieved_at_wins_over_observed_at():
    page = {
        "data": [
            {
                "id": "1",
                "author_id": "2",
                "created_at": "2024-01-01T00:00:00Z",
                "text": "x",
                "public_metrics": {"like_count": 1},
            }
        ],
        "__twarc": {"retrieved_at": "2024-01-02T03:04:05+02:00"},
    }
    out = map_page(page, observed_at="2030-01-01T00:00:00Z")
    assert by_type(out.events, "post_metrics")[0]["event_time"] == "2024-01-02T01:04:05Z"


def test_observation_without_any_time_is_refused():
    page = {
        "data": [
            {
                "id": "1",
                "author_id": "2",
                "created_at": "2024-01-01T00:00:00Z",
                "text": "x",
                "public_metrics": {"like_count": 1},
            }
        ]
    }
    with pytest.raises(MissingObservedAt, match="--observed-at"):
        map_page(page)
    # posts alone need no observation time
    assert by_type(map_page({"data": [{**page["data"][0], "public_metrics": None}]}).events, "post")


def test_retweet_with_unknown_original_author_is_skipped_not_guessed():
    page = {
        "data": [
            {
                "id": "5",
                "author_id": "2",
                "created_at": "2024-01-01T00:00:00Z",
                "text": "RT @x: hi",
                "referenced_tweets": [{"type": "retweeted", "id": "4"}],
            }
        ]
    }
    out = map_page(page, "2024-01-02T00:00:00Z")
    assert out.events == [] and out.skipped[0][0] == "retweet_target_unknown"


def test_retweet_author_from_mention_id_when_original_not_included():
    page = {
        "data": [
            {
                "id": "5",
                "author_id": "2",
                "created_at": "2024-01-01T00:00:00Z",
                "text": "RT @x: hi",
                "entities": {"mentions": [{"username": "x", "id": "77"}]},
                "referenced_tweets": [{"type": "retweeted", "id": "4"}],
                "public_metrics": {"like_count": 9},
            }
        ]
    }
    out = map_page(page, "2024-01-02T00:00:00Z")
    assert [(e["event_type"], e["profile_id"], e["post_id"]) for e in out.events] == [("share", "77", "4")]


def test_tweet_without_created_at_is_rejected_not_crashing():
    out = map_page(
        {
            "data": [
                {"id": "1", "text": "x"},
                "junk",
                {"id": "2", "author_id": "3", "created_at": "bad", "text": "y"},
            ]
        },
        "2024-01-02T00:00:00Z",
    )
    assert [r[0] for r in out.rejected] == ["missing_field", "invalid_type", "invalid_timestamp"]


def test_gzip_and_one_document_files(tmp_path):
    gz = run_import("x-api", tmp_path / "a", [str(FIXTURES / "x_pages.jsonl.gz")])
    plain = run_import("x-api", tmp_path / "b", [str(FIXTURES / "x_pages.jsonl")])
    assert gz.to_dict() | {"inputs": None, "output": None, "examples": None} == plain.to_dict() | {
        "inputs": None,
        "output": None,
        "examples": None,
    }
    assert (tmp_path / "a" / "import-x-api-{}".format(gz.output.rsplit("-", 1)[1])).read_bytes() == (
        tmp_path / "b" / gz.output.rsplit("/", 1)[1]
    ).read_bytes()
    doc = run_import(
        "x-api", tmp_path / "c", [str(FIXTURES / "x_users_lookup.json")], observed_at="2024-03-07"
    )
    snaps = read_events(tmp_path / "c")
    assert doc.imported == 2 and {s["event_time"] for s in snaps} == {"2024-03-07T00:00:00Z"}


def test_twarc_flattened_lines(tmp_path):
    summary = run_import("x-api", tmp_path, [str(FIXTURES / "x_flat.jsonl")])
    events = read_events(tmp_path)
    assert_contract(events)
    comment = by_type(events, "comment")[0]
    assert (comment["profile_id"], comment["actor_id"]) == ("1001", "1002")
    assert by_type(events, "profile_snapshot")[0]["handle"] == "bob"
    assert summary.imported == 2


def test_page_with_users_in_data_and_includes_gives_one_snapshot_per_user():
    user = {"id": "9", "username": "u", "public_metrics": {"followers_count": 1}}
    out = map_page({"data": [user], "includes": {"users": [user]}}, "2024-01-01T00:00:00Z")
    assert len({e["event_id"] for e in out.events}) == 1


def test_user_without_public_metrics_is_skipped():
    out = map_page({"data": [{"id": "9", "username": "u", "name": "U"}]}, "2024-01-01T00:00:00Z")
    assert out.skipped == [("no_follower_count", "user 9: request user.fields=public_metrics")]


def test_unrecognised_json_is_one_rejected_record():
    assert map_page({"hello": "world"}).rejected[0][0] == "unrecognized_page"
    assert map_page([1, 2]).rejected[0][0] == "unrecognized_page"
    assert map_page({"meta": {"result_count": 0}}).records == 0  # an empty search page is normal
    assert json.loads(json.dumps(map_page({"errors": [{"title": "x"}]}).skipped)) == [["api_error", ""]]


def test_tweet_counts_pages_are_skipped_with_a_reason():
    out = map_page(
        {
            "data": [
                {"end": "2024-01-02T00:00:00.000Z", "start": "2024-01-01T00:00:00.000Z", "tweet_count": 5}
            ],
            "meta": {"total_tweet_count": 5},
        }
    )
    assert out.skipped == [("tweet_counts_not_imported", "2024-01-01T00:00:00.000Z")]


def test_long_posts_take_hashtags_from_note_tweet_and_legacy_language_codes_are_mapped():
    tweet = {
        "id": "1",
        "author_id": "2",
        "created_at": "2024-01-01T00:00:00Z",
        "lang": "in",
        "text": "first 280…",
        "note_tweet": {"text": "… #late", "entities": {"hashtags": [{"start": 2, "end": 7, "tag": "late"}]}},
    }
    post = map_page({"data": [tweet]}).events[0]
    assert post["hashtags"] == ["late"] and post["language"] == "id"


def test_shapes_seen_in_real_twarc2_and_client_pages(tmp_path):
    # Modelled on real responses (twarc2 test data, recorded client cassettes): tweets and users
    # withheld in some countries still carry every field; a retweet page without the mentions
    # expansion names the original author by username only; lists, Spaces, DM events and batch
    # compliance lines share the same API and files; default-field tweets have no author or time.
    summary = run_import(
        "x-api", tmp_path, [str(FIXTURES / "x_real_shapes.jsonl")], observed_at="2021-06-13T12:00:00Z"
    )
    events = read_events(tmp_path)
    assert_contract(events)
    assert_accounted(summary)
    posts = {e["post_id"]: e for e in by_type(events, "post")}
    assert posts["1700000000000000001"]["profile_id"] == "501"
    snapshots = {e["profile_id"]: e for e in by_type(events, "profile_snapshot")}
    assert snapshots["501"]["followers"] == 1040 and snapshots["501"]["event_time"] == "2021-06-13T10:00:00Z"
    shares = by_type(events, "share")
    assert [(e["profile_id"], e["post_id"], e["actor_id"]) for e in shares] == [
        ("503", "1700000000000000009", "502")  # username matched case-insensitively in includes.users
    ]
    assert summary.skipped == {
        "retweet_target_unknown": 1,
        "withheld": 1,  # withheld and sent without its content
        "no_follower_count": 2,  # a user withheld in TR and one requested without public_metrics
        "unsupported_object": 3,  # two lists, one Space
        "unsupported_dm_event": 1,
        "compliance_delete": 2,
    }
    # The default-fields tweet (request tweet.fields) and a v1.1 status, which is not a v2 page.
    assert summary.rejected == {"missing_field": 1, "x_api_v1_object": 1}
    # Mentions by username only are resolved through the page's users, as twarc2 flatten does.
    assert posts["1380000000000000001"]["mentions"] == ["503", "stranger"]


def test_an_edited_tweet_is_one_post_named_by_its_first_version(tmp_path):
    # Modelled on real twarc2 pages of an edited tweet: each version has its own id and both list
    # `edit_history_tweet_ids`; the superseded version's counters froze at the edit.
    summary = run_import("x-api", tmp_path, [str(FIXTURES / "x_edited.jsonl")])
    events = read_events(tmp_path)
    assert_contract(events)
    assert_accounted(summary)
    first, edit = "1576000000000000001", "1576000000000000002"
    posts = {(e["post_id"], e["event_time"]) for e in by_type(events, "post") if e["profile_id"] == "601"}
    assert posts == {(first, "2022-10-03T17:57:01Z")}
    assert [
        (e["post_id"], e["likes"]) for e in by_type(events, "post_metrics") if e["profile_id"] == "601"
    ] == [
        (first, 32)  # only the latest version's counters
    ]
    share = by_type(events, "share")[0]
    assert (share["post_id"], share["profile_id"], share["actor_id"]) == (first, "601", "602")
    assert edit not in {e.get("post_id") for e in events}


def test_a_failed_requests_problem_body_is_a_skipped_api_error():
    forbidden = {
        "title": "Client Forbidden",
        "detail": "When authenticating requests to the Twitter API v2 endpoints, you must use keys ...",
        "reason": "client-not-enrolled",
        "type": "https://api.twitter.com/2/problems/client-forbidden",
    }
    assert [r for r, _ in map_page(forbidden).skipped] == ["api_error:client-forbidden"]
    too_many = {
        "title": "Too Many Requests",
        "detail": "Too Many Requests",
        "type": "about:blank",
        "status": 429,
    }
    out = map_page(too_many)
    assert [r for r, _ in out.skipped] == ["api_error:429"] and out.rejected == []


def test_a_suspended_user_is_protected_or_suspended_not_deleted():
    err = {
        "detail": "User has been suspended: [adfldf].",
        "title": "Forbidden",
        "resource_type": "user",
        "type": "https://api.twitter.com/2/problems/resource-not-found",
    }
    assert [r for r, _ in map_page({"errors": [err]}).skipped] == ["protected_or_suspended"]


@pytest.mark.parametrize(
    ("created_at", "impressions", "views"),
    [
        ("2019-05-01T10:00:00Z", 0, None),  # before X counted views: no count, not a measured zero
        ("2019-05-01T10:00:00Z", 17, 17),
        ("2023-05-01T10:00:00Z", 0, 0),  # counted, and nobody saw it
    ],
)
def test_zero_impressions_before_x_counted_views_are_no_count(created_at, impressions, views):
    tweet = {
        "id": "1",
        "author_id": "2",
        "created_at": created_at,
        "text": "x",
        "public_metrics": {"like_count": 3, "impression_count": impressions},
    }
    (metrics,) = by_type(
        map_page({"data": [tweet]}, observed_at="2024-06-01T00:00:00Z").events, "post_metrics"
    )
    assert metrics.get("views") == views and metrics["likes"] == 3
