"""CSV/TSV: mapping, BOM, quoted cells, date-only times, precision, posted_at, per-row rejects."""

from __future__ import annotations

import pytest
from importer_checks import FIXTURES, assert_accounted, assert_contract, by_type, read_events

from importers import ImportRefused, run_import

SNAP_MAP = [
    "profile_id=Channel ID,followers=Subscribers,observed_at=snapshot_utc",
    "handle=Handle,display_name=Name,country=Country",
]


def _import(tmp_path, name, **opts):
    summary = run_import("csv", tmp_path, [str(FIXTURES / name)], **opts)
    events = read_events(tmp_path)
    assert_contract(events)
    assert_accounted(summary)
    return summary, events


def test_snapshots_with_bom_quotes_date_only_and_sigfigs(tmp_path):
    summary, events = _import(
        tmp_path,
        "csv_snapshots_bom.csv",
        platform="youtube",
        kind="profile_snapshot",
        map=SNAP_MAP,
        followers_sigfigs=3,
    )
    snaps = {e["profile_id"]: e for e in events}
    assert set(snaps) == {"UC001", "UC002"}  # the BOM did not eat the first column's name
    first = snaps["UC001"]
    assert (
        first["event_time"],
        first["followers"],
        first["followers_precision"],
        first["display_name"],
        first["country"],
    ) == ("2024-03-01T00:00:00Z", 12400, 100, 'Café, Bar & "Grill"', "DE")
    second = snaps["UC002"]
    assert (second["event_time"], second["followers_precision"], second["display_name"]) == (
        "2024-03-01T06:00:00Z",
        1000,
        "Two\r\nlines",
    )
    # rejects name their line; the quoted two-line cell makes UC003 line 5; the blank row is no record
    rejects = [(x["line"], x["reason"]) for x in summary.examples]
    assert rejects == [(5, "negative_count"), (6, "missing_field"), (8, "invalid_number")]
    assert summary.records == 5


def test_observed_at_fills_empty_snapshot_cells(tmp_path):
    summary, events = _import(
        tmp_path,
        "csv_snapshots_bom.csv",
        platform="youtube",
        kind="profile_snapshot",
        map=SNAP_MAP,
        observed_at="2024-03-09",
    )
    assert {e["profile_id"]: e["event_time"] for e in events}["UC004"] == "2024-03-09T00:00:00Z"
    assert "followers_precision" not in events[0]  # exact unless --followers-sigfigs says otherwise


def test_tsv_post_metrics_with_posted_at_also_emits_posts(tmp_path):
    summary, events = _import(
        tmp_path,
        "csv_post_metrics.tsv",
        platform="tiktok",
        kind="post_metrics",
        map=["post_id=post,profile_id=creator,posted_at=published,views=plays,observed_at=captured"],
    )
    posts = {e["post_id"]: e for e in by_type(events, "post")}
    assert set(posts) == {"p1", "p3", "p4"}
    assert (
        posts["p1"]["event_time"] == "2024-02-01T00:00:00Z"
        and posts["p3"]["event_time"] == "2024-02-03T14:00:00Z"
    )
    metrics = {e["post_id"]: e for e in by_type(events, "post_metrics")}
    assert metrics["p1"] == {**metrics["p1"], "likes": 10, "comments": 2, "views": 100}
    assert (
        set(metrics["p2"]) & {"likes", "comments"} == set() and metrics["p2"]["views"] == 55
    )  # empty = absent
    assert "p4" not in metrics  # no counter in the row: the post alone
    assert summary.imported == 4 and summary.rejected == {}


def test_follows_with_identity_columns(tmp_path):
    summary, events = _import(tmp_path, "csv_follows.csv", platform="tiktok", kind="follow")
    assert [(e["profile_id"], e["actor_id"]) for e in events] == [("alice", "bob"), ("alice", "carol")]
    assert summary.rejected == {"missing_field": 1}


def test_post_kind_lists_and_booleans(tmp_path):
    src = tmp_path / "posts.csv"
    src.write_text(
        'id,who,when,tags,ad,type\n1,a,2024-01-01,"#a, #b",yes,Photo\n2,a,2024-01-02,,maybe,reel\n'
    )
    summary = run_import(
        "csv",
        tmp_path / "out",
        [str(src)],
        platform="instagram",
        kind="post",
        map=["post_id=id,profile_id=who,posted_at=when,hashtags=tags,sponsored=ad,media_type=type"],
    )
    events = read_events(tmp_path / "out")
    assert_contract(events)
    assert (
        events[0]["hashtags"] == ["a", "b"]
        and events[0]["sponsored"] is True
        and events[0]["media_type"] == "image"
    )
    assert summary.rejected == {"invalid_value": 1}


@pytest.mark.parametrize(
    "opts,message",
    [
        (dict(platform="YouTube", kind="post"), "lowercase"),
        (dict(platform="x", kind="likes"), "--kind"),
        (dict(platform="x", kind="post", map=["nonsense"]), "field=column"),
        (dict(platform="x", kind="post", map=["colour=c"]), "not a field"),
        (dict(platform="x", kind="follow", map=["actor_id=nope"]), "no column 'nope'"),
        (
            dict(platform="x", kind="profile_snapshot", map=["followers=Subscribers,profile_id=Channel ID"]),
            "observation time",
        ),
    ],
)
def test_usage_errors_refuse_and_write_nothing(tmp_path, opts, message):
    with pytest.raises(ImportRefused, match=message):
        run_import("csv", tmp_path, [str(FIXTURES / "csv_snapshots_bom.csv")], **opts)
    assert list(tmp_path.iterdir()) == []


def test_suffixed_counts_imply_their_precision(tmp_path):
    src = tmp_path / "blade.csv"
    src.write_text(
        "channel,subs,date,views\nc1,12.4K,2024-03-01,1.5M\nc2,2M,2024-03-01,\nc3,1.2345K,2024-03-01,\n"
    )
    summary = run_import(
        "csv",
        tmp_path / "out",
        [str(src)],
        platform="youtube",
        kind="profile_snapshot",
        map=["profile_id=channel,followers=subs,observed_at=date"],
    )
    snaps = {e["profile_id"]: e for e in read_events(tmp_path / "out")}
    assert (snaps["c1"]["followers"], snaps["c1"]["followers_precision"]) == (12400, 100)
    assert (snaps["c2"]["followers"], snaps["c2"]["followers_precision"]) == (2_000_000, 1_000_000)
    assert summary.rejected == {"invalid_number": 1}


def test_semicolon_export_is_sniffed(tmp_path):
    src = tmp_path / "export.csv"
    src.write_bytes("\ufeffprofile_id;actor_id;followed_at\nalice;bob;2024-03-01\n".encode())
    run_import("csv", tmp_path / "out", [str(src)], platform="instagram", kind="follow")
    assert [(e["profile_id"], e["actor_id"]) for e in read_events(tmp_path / "out")] == [("alice", "bob")]


def test_youtube_studio_content_export(tmp_path):
    # Modelled on real YouTube Studio "Table data.csv" exports: one channel, no channel column; a
    # Total row first; publish dates spelled "Apr 29, 2020" (or "3-Jun-26" once a spreadsheet saved
    # the file again); ids that start with "-" written with a leading space; "Subscribers" is the
    # net gain per video, not a follower count, so it is not mapped.
    summary, events = _import(
        tmp_path,
        "csv_studio_content.csv",
        platform="youtube",
        kind="post_metrics",
        profile_id="UCstudio",
        map=["post_id=Content,posted_at=Video publish time,views=Views"],
        observed_at="2026-07-01T00:00:00Z",
    )
    assert summary.skipped == {"total_row": 1} and summary.rejected == {}
    posts = {e["post_id"]: e for e in by_type(events, "post")}
    assert {p: (e["profile_id"], e["event_time"]) for p, e in posts.items()} == {
        "abcDEF12345": ("UCstudio", "2020-04-29T00:00:00Z"),
        "-xyzUVW6789": ("UCstudio", "2020-06-09T00:00:00Z"),
        "ghiJKL24680": ("UCstudio", "2026-06-03T00:00:00Z"),
    }
    assert {e["post_id"]: e["views"] for e in by_type(events, "post_metrics")}["abcDEF12345"] == 12500


def test_profile_id_option_and_a_profile_column_cannot_both_be_given(tmp_path):
    with pytest.raises(ImportRefused, match="--profile-id"):
        run_import(
            "csv",
            tmp_path,
            [str(FIXTURES / "csv_studio_content.csv")],
            platform="youtube",
            kind="post",
            profile_id="UCstudio",
            map=["profile_id=Content,post_id=Content,posted_at=Video publish time"],
        )
    with pytest.raises(ImportRefused, match="--profile-id"):  # the refusal names the way out
        run_import(
            "csv",
            tmp_path,
            [str(FIXTURES / "csv_studio_content.csv")],
            platform="youtube",
            kind="post",
            map=["post_id=Content,posted_at=Video publish time"],
        )
