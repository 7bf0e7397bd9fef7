from datetime import UTC

import pytest

from ingest.parse import EVENT_COLUMNS, Reject, parse_line, parse_timestamp_us
from schemas.events import REJECT_REASONS
from tests.conftest import INGEST_US, event, line

DAY_US = 86_400_000_000


def as_dict(row):
    return dict(zip(EVENT_COLUMNS, row))


def reason_of(raw: bytes) -> str:
    result = parse_line(raw, INGEST_US)
    assert isinstance(result, Reject), result
    return result.reason


# One malformed line per reject reason: every reason the contract names is reachable.
MALFORMED = {
    "invalid_encoding": b'{"event_id": "\xff\xfe"}',
    "invalid_json": b'{"event_id": "e1", "event_type": ',
    "missing_field": line({k: v for k, v in event().items() if k != "profile_id"}),
    "invalid_type": line(event("profile_snapshot", followers="abc")),
    "invalid_value": line(event(platform="Instagram")),
    "invalid_timestamp": line(event(event_time="2026-13-45T99:00:00Z")),
    "naive_timestamp": line(event(event_time="2026-11-20T10:00:00")),
    "unknown_event_type": line(event("retweet")),
    "unsupported_schema_version": line(event(schema_version=3)),
    "negative_count": line(event("profile_snapshot", followers=-5)),
    "future_event": line(event(event_time="2026-11-26T06:00:01Z")),
    "too_old_event": line(event(event_time="2003-12-31T23:59:59Z")),
    "oversized_field": line(event(profile_id="p" * 129)),
}


def test_every_reason_has_a_malformed_example():
    # corrupt_file is the reader's reason for a damaged file (ingest/landing.py, tested there), never a line's.
    assert set(MALFORMED) == set(REJECT_REASONS) - {"corrupt_file"}


@pytest.mark.parametrize("reason", sorted(MALFORMED))
def test_each_malformed_line_is_rejected_with_its_reason(reason):
    assert reason_of(MALFORMED[reason]) == reason


@pytest.mark.parametrize(
    "raw, reason",
    [
        (b"[1, 2]", "invalid_json"),
        (b'"just a string"', "invalid_json"),
        (line(event(event_id=None)), "missing_field"),
        (line(event(event_id="x" * 129)), "oversized_field"),
        (line(event(event_id="")), "invalid_value"),
        (line(event(actor_id=7)), "invalid_type"),
        (line(event("post", hashtags="#not-a-list")), "invalid_type"),
        (line(event("post", sponsored="yes")), "invalid_type"),
        (line(event("post", media_type="hologram")), "invalid_value"),
        (line(event("profile_snapshot", followers=True)), "invalid_type"),
        (line(event("profile_snapshot", followers=12.5)), "invalid_type"),
        (line(event("profile_snapshot", following=-1)), "negative_count"),
        (line(event("like", post_id=None)), "missing_field"),
        (line(event(event_time="2026-11-20")), "invalid_timestamp"),
        (line(event(event_time=1763632800)), "invalid_type"),
        (line(event(schema_version="1")), "invalid_type"),
    ],
)
def test_more_malformed_lines(raw, reason):
    assert reason_of(raw) == reason


@pytest.mark.parametrize("raw", [b"", b"   ", b"\t"])
def test_blank_lines_are_skipped_not_rejected(raw):
    assert parse_line(raw, INGEST_US) is None


def test_unknown_fields_are_ignored_and_defaults_applied():
    row = as_dict(parse_line(line(event("post", client="ios", extra={"a": 1})), INGEST_US))
    assert row["schema_version"] == 1
    assert row["sponsored"] is False
    assert row["post_id"] == "p1"


def test_event_at_midnight_and_last_microsecond_stay_on_their_day():
    midnight = parse_timestamp_us("2026-11-20T00:00:00Z")
    last = parse_timestamp_us("2026-11-20T23:59:59.999999Z")
    assert midnight % DAY_US == 0
    assert last // DAY_US == midnight // DAY_US
    assert last - midnight == DAY_US - 1


@pytest.mark.parametrize(
    "text, utc_day_offset",
    [
        ("2026-11-20T23:30:00-05:00", 1),  # 04:30 UTC on the 21st
        ("2026-11-21T00:30:00+01:00", 0),  # 23:30 UTC on the 20th
        ("2026-11-21T05:00:00+05:30", 0),  # 23:30 UTC on the 20th
        ("2026-11-20T12:00:00.5Z", 0),
    ],
)
def test_offsets_move_events_across_utc_days(text, utc_day_offset):
    day = parse_timestamp_us(text) // DAY_US
    assert day == parse_timestamp_us("2026-11-20T00:00:00Z") // DAY_US + utc_day_offset


def test_the_same_instant_with_another_offset_is_the_same_payload():
    a = as_dict(parse_line(line(event(event_time="2026-11-20T10:00:00Z")), INGEST_US))
    b = as_dict(parse_line(line(event(event_time="2026-11-20T11:00:00+01:00")), INGEST_US))
    c = as_dict(parse_line(line(event(event_time="2026-11-20T10:00:01Z")), INGEST_US))
    assert a["payload_hash"] == b["payload_hash"] != c["payload_hash"]


def test_future_tolerance_is_24_hours_after_ingest():
    assert not isinstance(parse_line(line(event(event_time="2026-11-26T06:00:00Z")), INGEST_US), Reject)
    assert reason_of(line(event(event_time="2026-11-26T06:00:00.000001Z"))) == "future_event"


# ---- contract v2 -------------------------------------------------------------------------

V2_ACCEPTED = [
    event("like", actor_id=None),  # most platforms never name likers
    event("comment", actor_id=None, reply_to="c0"),
    event("share", schema_version=2),
    event("follow", schema_version=2),
    event("post_metrics", likes=0),
    event("post_metrics", likes=None, views=10**12),
    event("post_metrics", likes=1, comments=2, shares=3, saves=4, views=5),
    event("post", language="pt-BR", schema_version=2),
    event(
        "profile_snapshot",
        followers=123_000,
        followers_precision=1000,
        handle="@alice",
        display_name="Alice \u2603",
        country="BR",
        language="pt",
    ),
    event("profile_snapshot", followers_precision=1),
    event(event_id="x" * 128),
    event(event_time="2004-01-01T00:00:00Z"),  # min_event_time itself is accepted
    event(event_time="2004-01-01T00:30:00+01:00"),  # ... 2003-12-31T23:30Z: too old, see below
]


@pytest.mark.parametrize("obj", V2_ACCEPTED[:-1], ids=lambda o: o["event_type"])
def test_v2_lines_are_accepted(obj):
    assert not isinstance(parse_line(line(obj), INGEST_US), Reject), obj


def test_v2_fields_arrive_in_their_columns():
    row = as_dict(
        parse_line(
            line(
                event(
                    "profile_snapshot",
                    followers_precision=1000,
                    handle="h",
                    display_name="D",
                    country="US",
                    language="en",
                )
            ),
            INGEST_US,
        )
    )
    assert (
        row["followers_precision"],
        row["handle"],
        row["display_name"],
        row["country"],
        row["language"],
    ) == (1000, "h", "D", "US", "en")
    row = as_dict(parse_line(line(event("post_metrics", likes=5, views=7, actor_id="ignored")), INGEST_US))
    assert (row["likes"], row["comments"], row["views"], row["post_id"], row["actor_id"]) == (
        5,
        None,
        7,
        "p1",
        None,
    )
    row = as_dict(parse_line(line(event("follow", post_id="ignored")), INGEST_US))
    assert (row["actor_id"], row["post_id"]) == ("bob", None)
    row = as_dict(parse_line(line(event("like", likes=5, language="en")), INGEST_US))  # not a like's fields
    assert row["likes"] is None and row["language"] is None


@pytest.mark.parametrize(
    "obj, reason",
    [
        (event("post_metrics", likes=None), "missing_field"),
        (event("post_metrics", likes=-1), "negative_count"),
        (event("post_metrics", likes=1, views=-5), "negative_count"),
        (event("post_metrics", likes=1.5), "invalid_type"),
        (event("post_metrics", likes=3.0), "invalid_type"),
        (event("post_metrics", likes="3"), "invalid_type"),
        (event("post_metrics", likes=True), "invalid_type"),
        (event("post_metrics", post_id=None), "missing_field"),
        (event("post_metrics", likes=2**63), "invalid_value"),  # not an int64
        (event("follow", actor_id=None), "missing_field"),
        (event("follow", actor_id=""), "invalid_value"),
        (event("like", actor_id=""), "invalid_value"),
        (event("profile_snapshot", followers_precision=0), "invalid_value"),
        (event("profile_snapshot", followers_precision=-1000), "invalid_value"),
        (event("profile_snapshot", followers_precision="1k"), "invalid_type"),
        (event("profile_snapshot", handle=7), "invalid_type"),
        (event("post", language=["en"]), "invalid_type"),
        (event(schema_version=0), "unsupported_schema_version"),
        (event(schema_version=3), "unsupported_schema_version"),
        (event(schema_version=2.0), "invalid_type"),
        (event(event_time="2004-01-01T00:30:00+01:00"), "too_old_event"),
        (event(event_time="1900-01-01T00:00:00Z"), "too_old_event"),
        (event(event_time="0001-01-01T00:00:00Z"), "too_old_event"),
        (event(event_time="0001-01-01T00:00:00+23:59"), "too_old_event"),
        (event(event_time="9999-12-31T23:59:59-23:59"), "future_event"),
        (event(event_id="a\x00b"), "invalid_value"),
        (event(profile_id="alice\n"), "invalid_value"),
        (event(platform="x\x7f"), "invalid_value"),
        (event(post_id="p\x85"), "invalid_value"),
        (event(actor_id="\x1f"), "invalid_value"),
        (event("comment", reply_to="c\x00"), "invalid_value"),
        (event(profile_id="p" * 129), "oversized_field"),
        (event(post_id="p" * 129), "oversized_field"),
        (event(actor_id="a" * 129), "oversized_field"),
        (event(platform="x" * 129), "oversized_field"),
        (event("post", hashtags=["h"] * 1001), "oversized_field"),
        (event("post", mentions=["x" * (64 * 1024 + 1)]), "oversized_field"),
        (event("post", hashtags=["\u00e9" * (32 * 1024 + 1)]), "oversized_field"),  # bytes, not chars
        (event("profile_snapshot", display_name="d" * (64 * 1024 + 1)), "oversized_field"),
        (event("post", language="l" * (64 * 1024 + 1)), "oversized_field"),
    ],
)
def test_v2_rules(obj, reason):
    assert reason_of(line(obj)) == reason


@pytest.mark.parametrize(
    "obj",
    [
        event("post", hashtags=["h"] * 1000),
        event("post", mentions=["x" * (64 * 1024)]),
        event("post", hashtags=["\u00e9" * (32 * 1024)]),
        event("profile_snapshot", display_name="d\x00 names are text, not ids"),
        event("comment", reply_to=""),  # v1 took an empty reply_to: still does
        event("like", followers=-1, hashtags=7),  # fields the type does not carry are ignored
    ],
)
def test_v2_limits_accept_up_to_the_bound(obj):
    assert not isinstance(parse_line(line(obj), INGEST_US), Reject)


def test_min_event_time_is_a_parameter_with_the_config_default():
    from datetime import datetime

    from ingest.parse import DEFAULT_MIN_EVENT_US
    from schemas.config import DEFAULT
    from schemas.units import to_us as datetime_us

    assert (
        DEFAULT_MIN_EVENT_US
        == datetime_us(DEFAULT.min_event_time)
        == datetime_us(datetime(2004, 1, 1, tzinfo=UTC))
    )
    old = line(event(event_time="1999-06-01T00:00:00Z"))
    assert reason_of(old) == "too_old_event"
    earlier = datetime_us(datetime(1990, 1, 1, tzinfo=UTC))
    assert as_dict(parse_line(old, INGEST_US, earlier))["event_time"] == parse_timestamp_us(
        "1999-06-01T00:00:00Z"
    )


def test_a_v1_row_hashes_as_before_v2():
    """v2 columns that are unset add nothing to the hashed text: stored v1 copies keep their hash."""
    row = parse_line(line(event()), INGEST_US)
    assert row[-1] == "a16f8c9112074f7d5a7220bfd4e950fd91f252d89123add9a79ce8b112daed08"
    with_counter = as_dict(parse_line(line(event("post_metrics", likes=1)), INGEST_US))
    other = as_dict(parse_line(line(event("post_metrics", likes=None, comments=1)), INGEST_US))
    assert with_counter["payload_hash"] != other["payload_hash"]


@pytest.mark.parametrize("bad", ["1969-12-31T00:00:00+00:00", "2004-01-01T00:00:00"])
def test_min_event_time_must_be_aware_and_not_before_1970(bad):
    from datetime import datetime

    from schemas.config import Config

    with pytest.raises(ValueError):
        Config(min_event_time=datetime.fromisoformat(bad))
