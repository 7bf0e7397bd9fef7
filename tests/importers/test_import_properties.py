"""Property-based: whatever bytes or JSON arrive, no importer crashes and accounting holds."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from importer_checks import assert_accounted, contract_errors, read_events

from importers import run_import
from importers.core import BadRecord, count, utc_time

SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
OPTS = {
    "x-api": {},
    "youtube-api": {},
    "bluesky": {},
    "csv": {"platform": "x", "kind": "post", "map": ["post_id=a,profile_id=b,posted_at=c"]},
}
OBS = "2024-03-05T00:00:00Z"

# JSON shaped loosely like the platforms' pages: the keys the mappers look for, with any values.
KEYS = st.sampled_from(
    [
        "data",
        "includes",
        "users",
        "tweets",
        "errors",
        "id",
        "author_id",
        "created_at",
        "text",
        "public_metrics",
        "like_count",
        "referenced_tweets",
        "type",
        "items",
        "kind",
        "statistics",
        "subscriberCount",
        "snippet",
        "publishedAt",
        "channelId",
        "feed",
        "post",
        "uri",
        "author",
        "did",
        "record",
        "createdAt",
        "reason",
        "$type",
        "likes",
        "profiles",
        "followersCount",
        "time_us",
        "commit",
        "operation",
        "collection",
        "rkey",
        "subject",
        "__twarc",
        "retrieved_at",
        "withheld",
        "error",
        "reply",
        "parent",
        "embed",
    ]
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-10, 2**63),
    st.floats(allow_nan=True),
    st.text(max_size=30),
    st.sampled_from(
        [
            "2024-03-01T10:00:00Z",
            "youtube#video",
            "youtube#channel",
            "retweeted",
            "replied_to",
            "quoted",
            "commit",
            "create",
            "delete",
            "app.bsky.feed.post",
            "app.bsky.feed.like",
            "at://did:plc:a/app.bsky.feed.post/1",
            "did:plc:b",
            "12",
        ]
    ),
)
JSONISH = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(KEYS, inner, max_size=6)),
    max_leaves=25,
)


def _check(source: str, payload: bytes, name: str = "in.jsonl") -> None:
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / name
        src.write_bytes(payload)
        summary = run_import(source, Path(tmp) / "out", [str(src)], observed_at=OBS, **OPTS[source])
        assert_accounted(summary)
        events = read_events(Path(tmp) / "out")
        assert len(events) == sum(summary.events.values())
        assert not [e for e in events if contract_errors(e)], [contract_errors(e) for e in events]


@SETTINGS
@given(source=st.sampled_from(sorted(OPTS)), payload=st.binary(max_size=400))
def test_arbitrary_bytes_never_crash(source, payload):
    # A CSV whose header lacks the mapped columns is refused as a usage error; give it a header.
    _check(
        source,
        b"a,b,c\n" + payload if source == "csv" else payload,
        "in.csv" if source == "csv" else "in.jsonl",
    )


@SETTINGS
@given(
    source=st.sampled_from(["x-api", "youtube-api", "bluesky"]),
    pages=st.lists(JSONISH, min_size=1, max_size=4),
)
def test_arbitrary_json_pages_never_crash(source, pages):
    _check(source, b"\n".join(json.dumps(p).encode() for p in pages))


@SETTINGS
@given(rows=st.lists(st.lists(st.text(max_size=12), min_size=0, max_size=4), max_size=6))
def test_arbitrary_csv_rows_never_crash(rows):
    import csv
    import io

    buf = io.StringIO()
    csv.writer(buf).writerows([["a", "b", "c"], *rows])
    _check("csv", buf.getvalue().encode("utf-8", "surrogatepass"), "in.csv")


@SETTINGS
@given(st.one_of(st.text(max_size=40), st.none(), st.integers()))
def test_times_are_canonical_rfc3339_or_rejected(value):
    try:
        out = utc_time(value)
    except BadRecord:
        return
    assert out.endswith("Z") and utc_time(out) == out


@SETTINGS
@given(st.one_of(st.integers(), st.floats(), st.text(max_size=12), st.booleans(), st.none()))
def test_counts_are_non_negative_ints_absent_or_rejected(value):
    try:
        out = count(value)
    except BadRecord:
        return
    assert out is None or (type(out) is int and out >= 0)
