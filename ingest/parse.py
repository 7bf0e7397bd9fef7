"""Validate one landing line against event contract v2 (pure: bytes in, row or reject out).

Every line ends as exactly one of: a typed event row, a `Reject` with a reason from
`schemas.events.REJECT_REASONS`, or blank. The caller counts them so that
lines_read = accepted + duplicates + rejected + blank holds for every run.

The field rules come from `schemas.events` (COMMON_FIELDS, TYPE_FIELDS): a field's kind says how
it is checked. Checks run in a fixed order, so a line breaking two rules always gets the same
reason: the common fields, event_type, schema_version, the type's fields in declared order, the
"at least one counter" rule, then event_time (format, then the bounds min_event_time .. ingest+24h).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime

import orjson

from schemas import events as contract
from schemas.units import US_PER_S, to_us

# RFC 3339 date-time; the offset group is optional here only to tell "naive" from "garbage".
_RFC3339 = re.compile(r"^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})?$")
_ID_FIELDS = ("event_id", "event_type", "event_time", "platform", "profile_id")
_CONTROL = re.compile(f"[{contract.CONTROL_CHARS}]")
_COMMON = {f.name: f for f in contract.COMMON_FIELDS}

# Column order of a parsed event row: the v1 columns, then the v2 ones, then payload_hash.
# Matches schemas.datasets.EVENTS minus lineage columns (tables.events_from_columns maps by name).
V1_COLUMNS = (
    "platform",
    "event_id",
    "event_type",
    "event_time",
    "profile_id",
    "schema_version",
    "post_id",
    "actor_id",
    "reply_to",
    "media_type",
    "hashtags",
    "mentions",
    "sponsored",
    "followers",
    "following",
    "media_count",
)
V2_COLUMNS = (*contract.POST_COUNTERS, "followers_precision", "handle", "display_name", "country", "language")
PAYLOAD_COLUMNS = V1_COLUMNS + V2_COLUMNS
EVENT_COLUMNS = (*PAYLOAD_COLUMNS, "payload_hash")
_POSITION = {name: i for i, name in enumerate(PAYLOAD_COLUMNS)}


def _default_min_event_us() -> int:
    from schemas.config import DEFAULT

    return to_us(DEFAULT.min_event_time)


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
        raise _Invalid("invalid_timestamp", f"event_time {value[:64]!r} is not RFC 3339")
    date, clock, fraction, offset = m.groups()
    if offset is None:
        raise _Invalid("naive_timestamp", f"event_time {value!r} has no offset")
    offset = "+00:00" if offset in ("Z", "z") else offset
    fraction = (fraction or "")[:7]  # '.' + at most 6 digits
    try:
        moment = datetime.fromisoformat(f"{date}T{clock}{fraction}{offset}")
    except ValueError as exc:
        raise _Invalid("invalid_timestamp", f"event_time {value!r}: {exc}") from None
    return to_us(moment)


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


def _check_text(name: str, value: str) -> str:
    # 4 UTF-8 bytes a character at most: only long strings need encoding to be measured.
    if (
        len(value) > contract.STRING_MAX_BYTES // 4
        and len(value.encode("utf-8", "surrogatepass")) > contract.STRING_MAX_BYTES
    ):
        raise _Invalid("oversized_field", f"{name} is longer than {contract.STRING_MAX_BYTES} bytes")
    return value


def _check_id(name: str, value: str) -> str:
    if len(value) > contract.ID_MAX_LEN:
        raise _Invalid("oversized_field", f"{name} is longer than {contract.ID_MAX_LEN} chars")
    if _CONTROL.search(value):
        raise _Invalid("invalid_value", f"{name} holds a control character")
    return value


def _integer(obj: dict, f: contract.Field) -> int | None:
    value = obj.get(f.name)
    if value is None:
        if f.required:
            raise _Invalid("missing_field", f"{f.name} is missing")
        return None
    # bool is an int in Python, but `true` is not a follower count.
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Invalid("invalid_type", f"{f.name} must be an integer, got {type(value).__name__}")
    if f.minimum is not None and value < f.minimum:
        # a count below 0 is negative_count; a precision below 1 is a unit that cannot be
        if f.minimum == 0:
            raise _Invalid("negative_count", f"{f.name} is {value}")
        raise _Invalid("invalid_value", f"{f.name} is {value}, below {f.minimum}")
    if value > contract.COUNT_MAX:
        raise _Invalid("invalid_value", f"{f.name} is out of range")
    return value


def _string_list(obj: dict, name: str) -> list[str] | None:
    value = obj.get(name)
    if value is None:
        return None
    if not isinstance(value, list):
        raise _Invalid("invalid_type", f"{name} must be a list of strings")
    if len(value) > contract.LIST_MAX_ITEMS:
        raise _Invalid("oversized_field", f"{name} has more than {contract.LIST_MAX_ITEMS} items")
    if not all(isinstance(v, str) for v in value):
        raise _Invalid("invalid_type", f"{name} must be a list of strings")
    for item in value:
        _check_text(name, item)
    return value


def _field(obj: dict, f: contract.Field):
    """One contract field of the line, checked by its kind; None when absent (optional)."""
    if f.kind == "integer":
        return _integer(obj, f)
    if f.kind == "string_list":
        return _string_list(obj, f.name)
    if f.kind == "boolean":
        value = obj.get(f.name)
        if value is not None and not isinstance(value, bool):
            raise _Invalid("invalid_type", f"{f.name} must be a boolean")
        return value
    value = _string(obj, f.name, f.required)
    if value is None:
        return None
    if f.kind == "id":
        if not value:  # an id, when given, is never empty (reply_to excepted: v1 took "")
            if f.name != "reply_to":
                raise _Invalid("invalid_value", f"{f.name} is empty")
            return value
        return _check_id(f.name, value)
    return _check_text(f.name, value)


def _validate(obj: dict, ingest_us: int, min_event_us: int) -> tuple:
    for name in _ID_FIELDS:
        _string(obj, name, required=True)
    event_id, event_type = obj["event_id"], obj["event_type"]
    platform, profile_id = obj["platform"], obj["profile_id"]
    _check_id("event_id", event_id)
    _check_id("platform", platform)
    if platform != platform.lower():
        raise _Invalid("invalid_value", f"platform {platform!r} is not lowercase")
    _check_id("profile_id", profile_id)
    if event_type not in contract.TYPE_FIELDS:
        raise _Invalid("unknown_event_type", f"event_type {event_type[:64]!r} is unknown")
    version = _field(obj, _COMMON["schema_version"])
    if version is None:
        version = contract.SCHEMA_VERSION
    elif version not in contract.SCHEMA_VERSIONS:
        raise _Invalid("unsupported_schema_version", f"schema_version {version} is not supported")

    row = [None] * len(PAYLOAD_COLUMNS)
    row[:6] = platform, event_id, event_type, None, profile_id, version
    for f in contract.TYPE_FIELDS[event_type]:
        row[_POSITION[f.name]] = _field(obj, f)
    if event_type == "post":
        media_type = row[_POSITION["media_type"]]
        if media_type is not None and media_type not in contract.MEDIA_TYPES:
            raise _Invalid("invalid_value", f"media_type {media_type[:64]!r} is unknown")
        if row[_POSITION["sponsored"]] is None:
            row[_POSITION["sponsored"]] = False
    needed = contract.AT_LEAST_ONE.get(event_type)
    if needed and all(row[_POSITION[name]] is None for name in needed):
        raise _Invalid("missing_field", f"{event_type} needs at least one of {', '.join(needed)}")

    event_us = parse_timestamp_us(obj["event_time"])
    if event_us < min_event_us:
        raise _Invalid("too_old_event", f"event_time {obj['event_time']} is before min_event_time")
    if event_us > ingest_us + contract.FUTURE_TOLERANCE_SECONDS * US_PER_S:
        raise _Invalid("future_event", f"event_time {obj['event_time']} is more than 24 h after ingest")
    row[3] = event_us
    row = tuple(row)
    return row + (payload_hash(row),)


# Separators of the hashed payload text: control characters, which JSON text must escape, so
# only a producer writing them escaped on purpose could make two payloads read alike.
FIELD_SEP, NULL_MARK, ITEM_SEP = "\x1f", "\x1e", "\x1d"


def _value_text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return f"{len(value)}{ITEM_SEP}{ITEM_SEP.join(value)}"
    return str(value)


def payload_text(row: tuple) -> str:
    """The typed row (PAYLOAD_COLUMNS) as the text its hash covers: the v1 columns joined by
    FIELD_SEP, a null as NULL_MARK, booleans as true/false, integers in decimal, a list as its
    length, ITEM_SEP, and its items joined by ITEM_SEP; then each v2 column that is set as
    FIELD_SEP name=value (an unset one adds nothing, so a v1 row hashes exactly as before v2).
    parse_block builds the same text with Arrow kernels."""
    v1 = len(V1_COLUMNS)
    text = FIELD_SEP.join(NULL_MARK if value is None else _value_text(value) for value in row[:v1])
    return text + "".join(
        f"{FIELD_SEP}{name}={_value_text(value)}"
        for name, value in zip(V2_COLUMNS, row[v1:])
        if value is not None
    )


DEFAULT_MIN_EVENT_US = _default_min_event_us()


def payload_hash(row: tuple) -> str:
    """SHA-256 of payload_text(row). It covers the typed payload only (not the raw text, offsets
    or unknown fields): the same instant written with another offset is the same event, not a
    conflict."""
    return hashlib.sha256(payload_text(row).encode("utf-8", "surrogatepass")).hexdigest()


def parse_line(raw: bytes, ingest_us: int, min_event_us: int | None = None) -> tuple | Reject | None:
    """Returns an event row (EVENT_COLUMNS order), a Reject, or None for a blank line.

    Accepted event times lie in [min_event_us, ingest_us + 24 h]; min_event_us defaults to
    Config.min_event_time (schemas.config.DEFAULT)."""
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
        return _validate(obj, ingest_us, DEFAULT_MIN_EVENT_US if min_event_us is None else min_event_us)
    except _Invalid as exc:
        return exc.reject


def raw_text(raw: bytes) -> str:
    """The line as text for the dead-letter dataset; undecodable bytes are escaped, not lost."""
    return raw.decode("utf-8", errors="backslashreplace")
