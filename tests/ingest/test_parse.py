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
    "unsupported_schema_version": line(event(schema_version=2)),
    "negative_count": line(event("profile_snapshot", followers=-5)),
    "future_event": line(event(event_time="2026-11-26T06:00:01Z")),
}


def test_every_reason_has_a_malformed_example():
    assert set(MALFORMED) == set(REJECT_REASONS)


@pytest.mark.parametrize("reason", sorted(MALFORMED))
def test_each_malformed_line_is_rejected_with_its_reason(reason):
    assert reason_of(MALFORMED[reason]) == reason


@pytest.mark.parametrize(
    "raw, reason",
    [
        (b"[1, 2]", "invalid_json"),
        (b'"just a string"', "invalid_json"),
        (line(event(event_id=None)), "missing_field"),
        (line(event(event_id="x" * 129)), "invalid_value"),
        (line(event(event_id="")), "invalid_value"),
        (line(event(actor_id=7)), "invalid_type"),
        (line(event("post", hashtags="#not-a-list")), "invalid_type"),
        (line(event("post", sponsored="yes")), "invalid_type"),
        (line(event("post", media_type="hologram")), "invalid_value"),
        (line(event("profile_snapshot", followers=True)), "invalid_type"),
        (line(event("profile_snapshot", followers=12.5)), "invalid_type"),
        (line(event("profile_snapshot", following=-1)), "negative_count"),
        (line(event("like", post_id=None)), "missing_field"),
        (line(event("like", actor_id=None)), "missing_field"),
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
