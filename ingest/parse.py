"""Validate one landing line against event contract v1 (pure: bytes in, row or reject out).

Every line ends as exactly one of: a typed event row, a `Reject` with a reason from
`schemas.events.REJECT_REASONS`, or blank. The caller counts them so that
lines_read = accepted + duplicates + rejected + blank holds for every run.
"""

from __future__ import annotations

import hashlib
import re
from schemas.units import DAY_S, US_PER_S
from dataclasses import dataclass
from datetime import datetime, timezone

import orjson

from schemas import events as contract

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
# RFC 3339 date-time; the offset group is optional here only to tell "naive" from "garbage".
_RFC3339 = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})?$"
)
_ID_FIELDS = ("event_id", "event_type", "event_time", "platform", "profile_id")
_COUNT_FIELDS = ("followers", "following", "media_count")

# Column order of a parsed event row; matches schemas.datasets.EVENTS minus lineage columns.
EVENT_COLUMNS = (
    "platform", "event_id", "event_type", "event_time", "profile_id", "schema_version",
    "post_id", "actor_id", "reply_to", "media_type", "hashtags", "mentions", "sponsored",
    "followers", "following", "media_count", "payload_hash",
)


@dataclass(frozen=True)
class Reject:
    reason: str
    detail: str


class _Invalid(Exception):
    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reject = Reject(reason, detail)


def parse_timestamp_us(value: str) -> int:
    """RFC 3339 with offset -> microseconds since the epoch (UTC). Sub-microsecond digits are truncated."""
    m = _RFC3339.match(value)
    if m is None:
        raise _Invalid("invalid_timestamp", f"event_time {value!r} is not RFC 3339")
    date, clock, fraction, offset = m.groups()
    if offset is None:
        raise _Invalid("naive_timestamp", f"event_time {value!r} has no offset")
    offset = "+00:00" if offset in ("Z", "z") else offset
    fraction = (fraction or "")[:7]  # '.' + at most 6 digits
    try:
        moment = datetime.fromisoformat(f"{date}T{clock}{fraction}{offset}")
    except ValueError as exc:
        raise _Invalid("invalid_timestamp", f"event_time {value!r}: {exc}") from None
    delta = moment - _EPOCH
    return (delta.days * DAY_S + delta.seconds) * US_PER_S + delta.microseconds


def _string(obj: dict, name: str, required: bool) -> str | None:
    value = obj.get(name)
    if value is None:
        if required:
            raise _Invalid("missing_field", f"{name} is missing")
        return None
    if not isinstance(value, str):
        raise _Invalid("invalid_type", f"{name} must be a string, got {type(value).__name__}")
    if required and not value:
        raise _Invalid("invalid_value", f"{name} is empty")
    return value


def _count(obj: dict, name: str, required: bool) -> int | None:
    value = obj.get(name)
    if value is None:
        if required:
            raise _Invalid("missing_field", f"{name} is missing")
        return None
    # bool is an int in Python, but `true` is not a follower count.
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Invalid("invalid_type", f"{name} must be an integer, got {type(value).__name__}")
    if value < 0:
        raise _Invalid("negative_count", f"{name} is {value}")
    if value >= 2**63:
        raise _Invalid("invalid_value", f"{name} is out of range")
    return value


def _string_list(obj: dict, name: str) -> list[str] | None:
    value = obj.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _Invalid("invalid_type", f"{name} must be a list of strings")
    return value


def _validate(obj: dict, ingest_us: int) -> tuple:
    for name in _ID_FIELDS:
        _string(obj, name, required=True)
    event_id, event_type = obj["event_id"], obj["event_type"]
    platform, profile_id = obj["platform"], obj["profile_id"]
    if len(event_id) > contract.EVENT_ID_MAX_LEN:
        raise _Invalid("invalid_value", f"event_id is longer than {contract.EVENT_ID_MAX_LEN} chars")
    if platform != platform.lower():
        raise _Invalid("invalid_value", f"platform {platform!r} is not lowercase")
    if event_type not in contract.EVENT_TYPES:
        raise _Invalid("unknown_event_type", f"event_type {event_type!r} is unknown")
    version = obj.get("schema_version")
    if version is None:
        version = contract.SCHEMA_VERSION
    elif isinstance(version, bool) or not isinstance(version, int):
        raise _Invalid("invalid_type", "schema_version must be an integer")
    elif version != contract.SCHEMA_VERSION:
        raise _Invalid("unsupported_schema_version", f"schema_version {version} is not supported")

    post_id = actor_id = reply_to = media_type = hashtags = mentions = None
    followers = following = media_count = None
    sponsored = None
    if event_type == "profile_snapshot":
        followers = _count(obj, "followers", required=True)
        following = _count(obj, "following", required=False)
        media_count = _count(obj, "media_count", required=False)
    else:
        post_id = _string(obj, "post_id", required=True)
        if event_type == "post":
            media_type = _string(obj, "media_type", required=False)
            if media_type is not None and media_type not in contract.MEDIA_TYPES:
                raise _Invalid("invalid_value", f"media_type {media_type!r} is unknown")
            hashtags = _string_list(obj, "hashtags")
            mentions = _string_list(obj, "mentions")
            sponsored = obj.get("sponsored", False)
            if sponsored is None:
                sponsored = False
            if not isinstance(sponsored, bool):
                raise _Invalid("invalid_type", "sponsored must be a boolean")
        else:
            actor_id = _string(obj, "actor_id", required=True)
            if event_type == "comment":
                reply_to = _string(obj, "reply_to", required=False)

    event_us = parse_timestamp_us(obj["event_time"])
    if event_us > ingest_us + contract.FUTURE_TOLERANCE_SECONDS * US_PER_S:
        raise _Invalid("future_event", f"event_time {obj['event_time']} is more than 24 h after ingest")

    row = (
        platform, event_id, event_type, event_us, profile_id, version,
        post_id, actor_id, reply_to, media_type, hashtags, mentions, sponsored,
        followers, following, media_count,
    )
    return row + (payload_hash(row),)


# Separators of the hashed payload text: control characters, which JSON text must escape, so
# only a producer writing them escaped on purpose could make two payloads read alike.
FIELD_SEP, NULL_MARK, ITEM_SEP = "\x1f", "\x1e", "\x1d"


def payload_text(row: tuple) -> str:
    """The typed row (EVENT_COLUMNS without payload_hash) as the text its hash covers: fields
    joined by FIELD_SEP, a null as NULL_MARK, booleans as true/false, integers in decimal, a list
    as its length, ITEM_SEP, and its items joined by ITEM_SEP. parse_block builds the same text
    with Arrow kernels."""
    parts = []
    for value in row:
        if value is None:
            parts.append(NULL_MARK)
        elif isinstance(value, bool):
            parts.append("true" if value else "false")
        elif isinstance(value, list):
            parts.append(f"{len(value)}{ITEM_SEP}{ITEM_SEP.join(value)}")
        else:
            parts.append(str(value))
    return FIELD_SEP.join(parts)


def payload_hash(row: tuple) -> str:
    """SHA-256 of payload_text(row). It covers the typed payload only (not the raw text, offsets
    or unknown fields): the same instant written with another offset is the same event, not a
    conflict."""
    return hashlib.sha256(payload_text(row).encode()).hexdigest()


def parse_line(raw: bytes, ingest_us: int) -> tuple | Reject | None:
    """Returns an event row (EVENT_COLUMNS order), a Reject, or None for a blank line."""
    if not raw.strip():
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Reject("invalid_encoding", f"not UTF-8 at byte {exc.start}")
    try:
        obj = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        return Reject("invalid_json", str(exc)[:200])
    if not isinstance(obj, dict):
        return Reject("invalid_json", f"a line must hold a JSON object, got {type(obj).__name__}")
    try:
        return _validate(obj, ingest_us)
    except _Invalid as exc:
        return exc.reject


def raw_text(raw: bytes) -> str:
    """The line as text for the dead-letter dataset; undecodable bytes are escaped, not lost."""
    return raw.decode("utf-8", errors="backslashreplace")
