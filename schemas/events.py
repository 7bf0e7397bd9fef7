"""Event contract v2: the JSON fields each event type carries and the reasons a line is rejected.

v2 only adds to v1 (SPEC section 2): a v1 line (no `schema_version`, or 1) reads exactly as before.
The parser (pipelines/parse.py), its columnar fast path (pipelines/parse_block.py), the JSON
Schema published in schemas/json/ (schemas/json_schema.py) and the `events` dataset all derive
from the declarations here.
"""

from __future__ import annotations

from dataclasses import dataclass

SCHEMA_VERSION = 1  # the version of a line that declares none
SCHEMA_VERSIONS = (1, 2)  # the versions this build reads
LATEST_SCHEMA_VERSION = max(SCHEMA_VERSIONS)
EVENT_ID_MAX_LEN = 128
# Bounds on every value a line may carry (SPEC: oversized_field): ids, strings and lists.
ID_MAX_LEN = EVENT_ID_MAX_LEN  # characters, for every id field (event_id, profile_id, post_id, ...)
STRING_MAX_BYTES = 64 * 1024  # UTF-8 bytes of any other string (display_name, a hashtag, ...)
LIST_MAX_ITEMS = 1000
COUNT_MAX = 2**63 - 1  # integers are stored as int64
# An event_time later than this after the ingest moment is a clock or producer bug, not data.
FUTURE_TOLERANCE_SECONDS = 24 * 3600
# The default of Config.min_event_time: an event_time before it is `too_old_event`. With the
# future bound it keeps every accepted time in a range where no later date arithmetic overflows.
DEFAULT_MIN_EVENT_TIME = "2004-01-01T00:00:00Z"
# Control characters (C0, DEL, C1) are never part of an id: `invalid_value`.
CONTROL_CHARS = "\x00-\x1f\x7f-\x9f"

INTERACTION_TYPES = ("like", "comment", "share", "save")
EVENT_TYPES = ("post", *INTERACTION_TYPES, "follow", "profile_snapshot", "post_metrics")
MEDIA_TYPES = ("image", "video", "reel", "story", "text", "other")
LANDING_SUFFIXES = (".jsonl", ".ndjson", ".jsonl.gz", ".ndjson.gz")
# post_metrics: cumulative counters of a post at event_time; at least one must be set.
POST_COUNTERS = ("likes", "comments", "shares", "saves", "views")


@dataclass(frozen=True)
class Field:
    name: str
    # "id" (string, 1-128 chars, no control characters) | "string" | "integer" | "boolean"
    # | "string_list" | "timestamp"
    kind: str
    required: bool
    doc: str
    minimum: int | None = None  # integers: the smallest valid value (0: a count, 1: a precision)


COMMON_FIELDS = (
    Field("event_id", "id", True, "1-128 chars; unique per logical event within a platform"),
    Field("event_type", "string", True, "one of " + ", ".join(EVENT_TYPES)),
    Field("event_time", "timestamp", True, "RFC 3339 with an offset (Z or +hh:mm)"),
    Field("platform", "id", True, "lowercase platform name, e.g. instagram"),
    Field("profile_id", "id", True, "the creator the event is about"),
    Field("schema_version", "integer", False, "contract version, 1 or 2, default 1"),
)

_POST_ID = Field("post_id", "id", True, "the post created, interacted with or observed")
_ACTOR_ID = Field("actor_id", "id", False, "who interacted (most platforms never name likers)")
_INTERACTION = (_POST_ID, _ACTOR_ID)


def _count(name: str, required: bool, doc: str) -> Field:
    return Field(name, "integer", required, doc, minimum=0)


TYPE_FIELDS: dict[str, tuple[Field, ...]] = {
    "post": (
        _POST_ID,
        Field("media_type", "string", False, "one of " + ", ".join(MEDIA_TYPES)),
        Field("hashtags", "string_list", False, "hashtags of the post"),
        Field("mentions", "string_list", False, "accounts mentioned in the post"),
        Field("sponsored", "boolean", False, "paid partnership, default false"),
        Field("language", "string", False, "language of the post (BCP 47)"),
    ),
    "like": _INTERACTION,
    "share": _INTERACTION,
    "save": _INTERACTION,
    "comment": (*_INTERACTION, Field("reply_to", "id", False, "comment id this replies to")),
    "follow": (Field("actor_id", "id", True, "who started following profile_id"),),
    "profile_snapshot": (
        _count("followers", True, "follower count, >= 0"),
        _count("following", False, "accounts followed, >= 0"),
        _count("media_count", False, "posts on the profile, >= 0"),
        Field(
            "followers_precision",
            "integer",
            False,
            "the unit the platform rounded followers to, >= 1 (default 1 = exact)",
            minimum=1,
        ),
        Field("handle", "string", False, "the profile's handle"),
        Field("display_name", "string", False, "the profile's display name"),
        Field("country", "string", False, "ISO 3166-1 alpha-2 country code"),
        Field("language", "string", False, "the profile's language (BCP 47)"),
    ),
    "post_metrics": (
        _POST_ID,
        *(_count(c, False, f"the post's cumulative {c} at event_time, >= 0") for c in POST_COUNTERS),
    ),
}
# post_metrics needs at least one of these set (SPEC section 2).
AT_LEAST_ONE: dict[str, tuple[str, ...]] = {"post_metrics": POST_COUNTERS}

# Every reason a line can be rejected with; the dead-letter dataset's `reason` column holds one.
REJECT_REASONS = {
    "invalid_encoding": "the line is not valid UTF-8",
    "invalid_json": "the line is not a JSON object",
    "missing_field": "a required field is absent or null (a post_metrics without any counter, a follow without actor_id)",
    "invalid_type": "a field has the wrong JSON type (a counter that is not an integer)",
    "invalid_value": "a field has the right type but a value outside the contract (control characters in an id, followers_precision < 1)",
    "invalid_timestamp": "event_time is not an RFC 3339 timestamp",
    "naive_timestamp": "event_time has no UTC offset",
    "unknown_event_type": "event_type is not one the contract knows",
    "unsupported_schema_version": "schema_version is not one this build reads (1 or 2)",
    "negative_count": "a count (followers, following, media_count, a post_metrics counter) is negative",
    "future_event": "event_time is more than 24 hours after the line was ingested",
    "too_old_event": "event_time is before min_event_time (configuration, default 2004-01-01)",
    "oversized_field": "an id over 128 characters, a string over 64 KiB (UTF-8) or a list over 1,000 items",
    "corrupt_file": "a compressed file is cut short or corrupt: its lines before the damage are read, the damage "
    "is this one record (source_line: the line it cut; detail: the byte offset)",
}
