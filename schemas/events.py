"""Event contract v1: the JSON fields each event type carries and the reasons a line is rejected."""

from __future__ import annotations

from dataclasses import dataclass

SCHEMA_VERSION = 1
EVENT_ID_MAX_LEN = 128
# An event_time later than this after the ingest moment is a clock or producer bug, not data.
FUTURE_TOLERANCE_SECONDS = 24 * 3600

INTERACTION_TYPES = ("like", "comment", "share", "save")
EVENT_TYPES = ("post", *INTERACTION_TYPES, "profile_snapshot")
MEDIA_TYPES = ("image", "video", "reel", "story", "text", "other")
LANDING_SUFFIXES = (".jsonl", ".ndjson", ".jsonl.gz", ".ndjson.gz")


@dataclass(frozen=True)
class Field:
    name: str
    kind: str  # "string" | "integer" | "boolean" | "string_list" | "timestamp"
    required: bool
    doc: str


COMMON_FIELDS = (
    Field("event_id", "string", True, "1-128 chars; unique per logical event within a platform"),
    Field("event_type", "string", True, "one of " + ", ".join(EVENT_TYPES)),
    Field("event_time", "timestamp", True, "RFC 3339 with an offset (Z or +hh:mm)"),
    Field("platform", "string", True, "lowercase platform name, e.g. instagram"),
    Field("profile_id", "string", True, "the creator the event is about"),
    Field("schema_version", "integer", False, "contract version, default 1"),
)

_POST_ID = Field("post_id", "string", True, "the post created or interacted with")
_ACTOR_ID = Field("actor_id", "string", True, "who interacted")
_INTERACTION = (_POST_ID, _ACTOR_ID)

TYPE_FIELDS: dict[str, tuple[Field, ...]] = {
    "post": (
        _POST_ID,
        Field("media_type", "string", False, "one of " + ", ".join(MEDIA_TYPES)),
        Field("hashtags", "string_list", False, "hashtags of the post"),
        Field("mentions", "string_list", False, "accounts mentioned in the post"),
        Field("sponsored", "boolean", False, "paid partnership, default false"),
    ),
    "like": _INTERACTION,
    "share": _INTERACTION,
    "save": _INTERACTION,
    "comment": (*_INTERACTION, Field("reply_to", "string", False, "comment id this replies to")),
    "profile_snapshot": (
        Field("followers", "integer", True, "follower count, >= 0"),
        Field("following", "integer", False, "accounts followed, >= 0"),
        Field("media_count", "integer", False, "posts on the profile, >= 0"),
    ),
}

# Every reason a line can be rejected with; the dead-letter dataset's `reason` column holds one.
REJECT_REASONS = {
    "invalid_encoding": "the line is not valid UTF-8",
    "invalid_json": "the line is not a JSON object",
    "missing_field": "a required field is absent or null",
    "invalid_type": "a field has the wrong JSON type",
    "invalid_value": "a field has the right type but a value outside the contract",
    "invalid_timestamp": "event_time is not an RFC 3339 timestamp",
    "naive_timestamp": "event_time has no UTC offset",
    "unknown_event_type": "event_type is not one the contract knows",
    "unsupported_schema_version": "schema_version is not one this build reads",
    "negative_count": "a count (followers, following, media_count) is negative",
    "future_event": "event_time is more than 24 hours after the line was ingested",
}
