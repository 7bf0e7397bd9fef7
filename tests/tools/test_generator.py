"""Tests of the sample-data generator: contract, dirt, planted ground truth, determinism."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import hashlib
import pathlib
import re
from collections import Counter, defaultdict

import orjson
import pytest

from tools.generator import GenerationSummary, generate_landing
from tools.generator.archetypes import ARCHETYPES, WINDOW_DAYS

END = dt.date(2026, 11, 24)
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$")
_COMMON = ("event_id", "event_type", "event_time", "platform", "profile_id")
_INTERACTIONS = {"like", "comment", "share", "save"}
_TYPES = _INTERACTIONS | {"post", "profile_snapshot"}


# ----------------------------------------------------------------- tiny checker


def _parse_time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _reject_reason(line: str, ingest: dt.datetime) -> str | None:
    """The SPEC section 2 reason a line is rejected for, or None if it is valid."""
    try:
        rec = orjson.loads(line)
    except orjson.JSONDecodeError:
        return "invalid_json"
    if not isinstance(rec, dict) or any(k not in rec for k in _COMMON):
        return "missing_field"
    if any(not isinstance(rec[k], str) for k in _COMMON):
        return "invalid_type"
    if rec["event_type"] not in _TYPES:
        return "unknown_event_type"
    if not _RFC3339.match(rec["event_time"]):
        bare = rec["event_time"]
        return (
            "naive_timestamp"
            if re.match(r"^\d{4}-\d{2}-\d{2}T[\d:.]+$", bare) and _ok(bare)
            else "invalid_timestamp"
        )
    try:
        when = _parse_time(rec["event_time"])
    except ValueError:
        return "invalid_timestamp"
    if rec["event_type"] == "profile_snapshot":
        for k in ("followers", "following", "media_count"):
            if k in rec and (not isinstance(rec[k], int) or isinstance(rec[k], bool)):
                return "invalid_type"
            if k in rec and rec[k] < 0:
                return "negative_count"
        if "followers" not in rec:
            return "missing_field"
    else:
        if not isinstance(rec.get("post_id"), str):
            return "missing_field"
        if rec["event_type"] in _INTERACTIONS and not isinstance(rec.get("actor_id"), str):
            return "missing_field"
        if rec["event_type"] == "post":
            for k in ("hashtags", "mentions"):
                if k in rec and not (isinstance(rec[k], list) and all(isinstance(x, str) for x in rec[k])):
                    return "invalid_type"
            if not isinstance(rec.get("sponsored", False), bool):
                return "invalid_type"
    if when - ingest > dt.timedelta(hours=24):
        return "future_event"
    return None


def _ok(naive: str) -> bool:
    try:
        dt.datetime.fromisoformat(naive)
        return True
    except ValueError:
        return False


def _read_lines(path: pathlib.Path) -> list[str]:
    raw = path.read_bytes()
    if path.name.endswith(".gz"):
        raw = gzip.decompress(raw)
    text = raw.decode("utf-8")
    text = text.removeprefix("\ufeff")
    assert text.endswith("\n")
    return text[:-1].split("\n")


def _scan(landing: pathlib.Path, end: dt.date):
    """Classify every line: valid records, reject reasons, blank count, total lines."""
    ingest = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(2), dt.UTC)
    valid, reasons, blank, total = [], Counter(), 0, 0
    for path in sorted(landing.rglob("*")):
        if path.is_dir():
            continue
        for line in _read_lines(path):
            total += 1
            line = line.removesuffix("\r")
            if not line.strip():
                blank += 1
                continue
            reason = _reject_reason(line, ingest)
            if reason:
                reasons[reason] += 1
            else:
                valid.append((path, orjson.loads(line)))
    return valid, reasons, blank, total


def _digest(root: pathlib.Path) -> str:
    h = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        h.update(str(path.relative_to(root)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def _daily_followers(valid) -> dict[tuple[str, str], dict[dt.date, int]]:
    """Last snapshot per profile and UTC day, ordered by (event_time, event_id)."""
    snaps = defaultdict(list)
    for _, rec in valid:
        if rec["event_type"] == "profile_snapshot":
            when = _parse_time(rec["event_time"]).astimezone(dt.UTC)
            snaps[(rec["platform"], rec["profile_id"])].append((when, rec["event_id"], rec["followers"]))
    out = {}
    for key, rows in snaps.items():
        out[key] = {when.date(): f for when, _, f in sorted(rows)}
    return out


# --------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def default_run(tmp_path_factory) -> tuple[GenerationSummary, list, Counter, int, int]:
    out = tmp_path_factory.mktemp("default")
    summary = generate_landing(out, end_date=END)
    return (summary, *_scan(summary.landing_dir, END))


@pytest.fixture(scope="module")
def truth(default_run) -> list[dict[str, str]]:
    with default_run[0].ground_truth_path.open(newline="") as fh:
        return list(csv.DictReader(fh))


# ------------------------------------------------------------------------ tests


def test_same_seed_same_bytes_different_seed_differs(tmp_path):
    a = generate_landing(tmp_path / "a", profiles=40, days=35, seed=3, end_date=END)
    b = generate_landing(tmp_path / "b", profiles=40, days=35, seed=3, end_date=END)
    generate_landing(tmp_path / "c", profiles=40, days=35, seed=4, end_date=END)
    assert a.files_written > 0 and a.lines_written == b.lines_written
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    assert _digest(tmp_path / "a") != _digest(tmp_path / "c")


def test_small_sample_keeps_minimum_archetypes(tmp_path):
    s = generate_landing(tmp_path, profiles=40, days=35, seed=1, end_date=END)
    assert s.archetype_counts["rising_micro"] >= 2 and s.archetype_counts["bought_spike"] >= 2
    assert all(s.archetype_counts[a] >= 1 for a in ARCHETYPES)
    assert sum(s.archetype_counts.values()) == 40
    assert s.start_date == END - dt.timedelta(days=34)


def test_refuses_non_empty_landing(tmp_path):
    generate_landing(tmp_path, profiles=10, days=28, end_date=END)
    with pytest.raises(FileExistsError):
        generate_landing(tmp_path, profiles=10, days=28, end_date=END)


def test_volume_budget_and_line_accounting(default_run):
    summary, valid, reasons, blank, total = default_run
    assert 300_000 <= summary.lines_written <= 700_000
    assert total == summary.lines_written
    assert blank == summary.blank_lines >= 3
    assert sum(reasons.values()) == summary.malformed_lines
    distinct = {(r["platform"], r["event_id"]) for _, r in valid}
    assert len(distinct) == summary.events_generated
    assert len(valid) == (summary.events_generated + summary.duplicate_lines + summary.conflicting_duplicates)


def test_every_reject_reason_is_present(default_run):
    summary, _, reasons, _, _ = default_run
    assert set(reasons) == set(summary.malformed_counts)
    for reason, n in summary.malformed_counts.items():
        assert n >= 2 and reasons[reason] == n, reason


def test_valid_events_follow_contract_and_span(default_run):
    summary, valid, *_ = default_run
    lo = dt.datetime.combine(summary.start_date, dt.time(), dt.UTC)
    hi = dt.datetime.combine(summary.end_date + dt.timedelta(days=1), dt.time(), dt.UTC)
    types, offsets = Counter(), Counter()
    for _, rec in valid:
        when = _parse_time(rec["event_time"])
        assert lo <= when < hi, rec
        types[rec["event_type"]] += 1
        offsets[rec["event_time"][-6:] if rec["event_time"][-1] != "Z" else "Z"] += 1
    assert set(types) == _TYPES
    assert {"Z", "+01:00", "-05:00", "+05:30"} <= set(offsets)
    assert types["like"] > 8 * types["comment"] > 0
    times = {rec["event_time"] for _, rec in valid}
    assert any(t.endswith("T00:00:00Z") for t in times)
    assert any(t.endswith("T23:59:59.999999Z") for t in times)


def test_dirt_is_present(default_run):
    summary, valid, *_ = default_run
    files = [p for p in summary.landing_dir.rglob("*") if p.is_file()]
    assert sum(p.name.endswith(".gz") for p in files) >= 2
    assert any(".ndjson" in p.name for p in files)
    plain = [p.read_bytes() for p in files if not p.name.endswith(".gz")]
    assert sum(b.startswith(b"\xef\xbb\xbf") for b in plain) == 1
    assert sum(b"\r\n" in b for b in plain) == 1
    assert summary.conflicting_duplicates >= 3
    assert 0.005 <= summary.duplicate_lines / summary.events_generated <= 0.02
    assert 0.02 <= summary.late_events / summary.events_generated <= 0.04
    assert any("client" in r for _, r in valid) and any("schema_version" in r for _, r in valid)
    # Late files: some events sit in a directory dated after their UTC event day.
    late = [
        1
        for p, r in valid
        if dt.date.fromisoformat(p.parent.name) > _parse_time(r["event_time"]).astimezone(dt.UTC).date()
    ]
    assert len(late) >= summary.late_events


def test_engagement_realism(default_run):
    _, valid, *_ = default_run
    self_eng = replies = interactions = 0
    actors: dict[tuple[str, str], Counter] = defaultdict(Counter)
    for _, rec in valid:
        if rec["event_type"] in _INTERACTIONS:
            interactions += 1
            if rec["actor_id"] == rec["profile_id"]:
                if rec["event_type"] == "comment":
                    replies += 1
                    assert rec.get("reply_to")
                else:
                    self_eng += 1
            actors[(rec["platform"], rec["profile_id"])][rec["actor_id"]] += 1
    assert 0.002 < self_eng / interactions < 0.01
    assert replies > 0
    assert any(max(c.values()) > 1 for c in actors.values())  # repeat fans exist
    sponsored = [r.get("sponsored", False) for _, r in valid if r["event_type"] == "post"]
    assert 0.05 < sum(sponsored) / len(sponsored) < 0.15


def test_ground_truth_flags_and_tiers(default_run, truth):
    summary = default_run[0]
    assert list(truth[0]) == [
        "platform",
        "profile_id",
        "archetype",
        "tier_at_end",
        "followers_start",
        "followers_end",
        "expected_rising",
        "expected_suspicious",
    ]
    by_arch = Counter(r["archetype"] for r in truth)
    assert dict(by_arch) == {a: n for a, n in summary.archetype_counts.items() if n}
    assert by_arch["rising_micro"] >= 12 and by_arch["nano_crossing"] >= 6
    assert by_arch["bought_spike"] >= 8 and by_arch["fast_macro"] >= 3
    for r in truth:
        assert r["expected_rising"] == (
            "true" if r["archetype"] in ("rising_micro", "nano_crossing") else "false"
        )
        assert r["expected_suspicious"] == ("true" if r["archetype"] == "bought_spike" else "false")
    tiers = Counter(r["tier_at_end"] for r in truth)
    assert tiers["nano"] + tiers["micro"] >= 0.95 * len(truth)
    assert tiers["macro"] <= 0.02 * len(truth) + 1 and tiers["mega"] <= 1
    keys = [(r["platform"], r["profile_id"]) for r in truth]
    assert len(set(keys)) == len(keys)
    shared = Counter(r["profile_id"] for r in truth)
    assert sorted(shared.values())[-1] == 2 and list(shared.values()).count(2) == 1


def test_planted_trajectories_match_the_data(default_run, truth):
    summary, valid, *_ = default_run
    daily = _daily_followers(valid)
    first = summary.end_date - dt.timedelta(days=WINDOW_DAYS - 1)
    for r in truth:
        f = daily[(r["platform"], r["profile_id"])]
        start, end = f[first], f[summary.end_date]
        assert (start, end) == (int(r["followers_start"]), int(r["followers_end"]))
        growth = end / start - 1
        days = sorted(f)
        jumps = [f[b] / f[a] - 1 for a, b in zip(days, days[1:])]
        window_jumps = [f[b] / f[a] - 1 for a, b in zip(days, days[1:]) if b > first]
        if r["archetype"] == "rising_micro":
            assert 0.30 <= growth <= 0.70 and start >= 11_000 and end <= 48_000
            assert max(window_jumps) <= 0.06
            assert all(10_000 <= f[d] <= 50_000 for d in days if d >= first)
        elif r["archetype"] == "nano_crossing":
            assert 6_500 <= start <= 8_500 and 9_300 <= end <= 9_900
        elif r["archetype"] == "bought_spike":
            big = [d for (a, d), j in zip(zip(days, days[1:]), jumps) if j >= 0.40]
            assert len(big) == 1
            assert 5 <= (summary.end_date - big[0]).days <= 20
        elif r["archetype"] == "declining":
            assert -0.20 <= growth <= -0.05
        elif r["archetype"] == "fast_macro":
            assert 0.30 <= growth <= 0.60 and r["tier_at_end"] == "macro"
        elif r["archetype"] == "steady":
            assert 0 <= end - start <= 0.03 * start + 1  # +1: rounding of tiny accounts


def test_rising_engagement_follows_followers_but_spike_does_not(default_run, truth):
    summary, valid, *_ = default_run
    per_post: dict[tuple[str, str], dict[str, int]] = defaultdict(Counter)
    post_day: dict[tuple[str, str], dt.date] = {}
    for _, rec in valid:
        if rec["event_type"] == "post":
            post_day[(rec["platform"], rec["post_id"])] = (
                _parse_time(rec["event_time"]).astimezone(dt.UTC).date()
            )
    seen = set()
    for _, rec in valid:
        key = (rec["platform"], rec["event_id"])
        if rec["event_type"] in _INTERACTIONS and rec["actor_id"] != rec["profile_id"] and key not in seen:
            seen.add(key)
            per_post[(rec["platform"], rec["profile_id"])][rec["post_id"]] += 1
    late_start = summary.end_date - dt.timedelta(days=6)
    early_end = summary.end_date - dt.timedelta(days=WINDOW_DAYS - 7)

    def ratio(profile) -> float:
        posts = per_post[profile]
        early = [n for p, n in posts.items() if post_day[(profile[0], p)] <= early_end]
        late = [
            n
            for p, n in posts.items()
            if late_start <= post_day[(profile[0], p)] <= summary.end_date - dt.timedelta(days=2)
        ]
        return (sum(late) / len(late)) / (sum(early) / len(early))

    rising = [ratio((r["platform"], r["profile_id"])) for r in truth if r["archetype"] == "rising_micro"]
    spiked = [ratio((r["platform"], r["profile_id"])) for r in truth if r["archetype"] == "bought_spike"]
    assert sorted(rising)[len(rising) // 2] > 1.25
    assert sorted(spiked)[len(spiked) // 2] < 1.15
