"""The generator's observation mode: what real platform APIs deliver (post counters, sparse
follower counts rounded to 3 significant figures), with the same planted ground truth."""

from __future__ import annotations

import datetime as dt
import gzip
from collections import defaultdict

import orjson
import pytest

from tools.generator import generate_landing
from tools.generator.events import rounded_count

END = dt.date(2026, 11, 24)


def records(landing):
    out = []
    for path in sorted(landing.rglob("*")):
        if path.is_file():
            data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
            for line in data.decode("utf-8-sig").splitlines():
                try:
                    rec = orjson.loads(line)
                except orjson.JSONDecodeError:
                    continue
                if isinstance(rec, dict) and str(rec.get("event_id", "")).startswith(
                    ("ig-", "tt-", "yt-", "bs-")
                ):
                    out.append(rec)
    return out


@pytest.fixture(scope="module")
def observed(tmp_path_factory):
    root = tmp_path_factory.mktemp("observed")
    summary = generate_landing(root, profiles=40, days=35, seed=3, end_date=END, mode="observation")
    return summary, records(summary.landing_dir)


def test_counts_are_rounded_to_three_significant_figures_with_their_precision():
    assert rounded_count(123_456) == (123_000, 1_000)
    assert rounded_count(9_876) == (9_870, 10)
    assert rounded_count(999) == (999, 1)


def test_observation_mode_delivers_counters_and_sparse_rounded_readings(observed):
    _, recs = observed
    types = {r["event_type"] for r in recs}
    assert types == {"post", "post_metrics", "profile_snapshot"}, types  # no liker ever named
    readings = defaultdict(set)
    for r in (
        r for r in recs if r["event_type"] == "profile_snapshot" and isinstance(r.get("followers"), int)
    ):
        if r["followers"] >= 0:
            assert r["followers"] % r["followers_precision"] == 0
            assert rounded_count(r["followers"])[1] == r["followers_precision"]
            when = dt.datetime.fromisoformat(r["event_time"].replace("Z", "+00:00"))
            readings[(r["platform"], r["profile_id"])].add(when.astimezone(dt.UTC).date())
    assert max(len(days) for days in readings.values()) <= 35 // 3 + 2  # read every 3, 7 or 30 days
    counters = defaultdict(list)
    for r in (r for r in recs if r["event_type"] == "post_metrics"):
        assert any(k in r for k in ("likes", "comments", "shares", "saves", "views"))
        counters[r["post_id"]].append((r["event_id"], r["likes"], r["views"]))
    for seen in counters.values():  # cumulative: never falls between readings
        likes = [likes for _, likes, _ in sorted(seen)]
        assert likes == sorted(likes)


def test_ground_truth_is_the_same_in_every_mode(observed, tmp_path):
    summary, _ = observed
    events = generate_landing(tmp_path / "events", profiles=40, days=35, seed=3, end_date=END)
    assert summary.ground_truth_path.read_text() == events.ground_truth_path.read_text()


def test_mixed_mode_observes_youtube_only(tmp_path):
    summary = generate_landing(tmp_path, profiles=40, days=30, seed=5, end_date=END, mode="mixed")
    by_type = defaultdict(set)
    for r in records(summary.landing_dir):
        by_type[r["event_type"]].add(r["platform"])
    assert by_type["post_metrics"] == {"youtube"}
    assert "youtube" not in by_type["like"] and by_type["like"]


def test_an_unknown_mode_is_refused(tmp_path):
    with pytest.raises(ValueError, match="mode must be one of"):
        generate_landing(tmp_path, profiles=40, days=30, mode="firehose")
