"""Checks every emitted event against SPEC section 2 (contract v2 field table), field by field.

Written from the spec's table, not from the importers' code, so the two can disagree.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"

EVENT_TYPES = {"post", "like", "comment", "share", "save", "follow", "profile_snapshot", "post_metrics"}
MEDIA_TYPES = {"image", "video", "reel", "story", "text", "other"}
COUNTERS = ("likes", "comments", "shares", "saves", "views")
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
COMMON = {"event_id", "event_type", "event_time", "platform", "profile_id", "schema_version"}
# field -> (kind, required) per event type
TYPE_FIELDS = {
    "post": {
        "post_id": ("str", True),
        "media_type": ("media", False),
        "hashtags": ("strlist", False),
        "mentions": ("strlist", False),
        "sponsored": ("bool", False),
        "language": ("str", False),
    },
    "like": {"post_id": ("str", True), "actor_id": ("str", False)},
    "share": {"post_id": ("str", True), "actor_id": ("str", False)},
    "save": {"post_id": ("str", True), "actor_id": ("str", False)},
    "comment": {"post_id": ("str", True), "actor_id": ("str", False), "reply_to": ("str", False)},
    "follow": {"actor_id": ("str", True)},
    "profile_snapshot": {
        "followers": ("count", True),
        "following": ("count", False),
        "media_count": ("count", False),
        "followers_precision": ("precision", False),
        "handle": ("str", False),
        "display_name": ("str", False),
        "country": ("country", False),
        "language": ("str", False),
    },
    "post_metrics": {"post_id": ("str", True), **{c: ("count", False) for c in COUNTERS}},
}


def _id(value) -> bool:
    return (
        isinstance(value, str)
        and 1 <= len(value) <= 128
        and not any(ord(c) < 32 or ord(c) == 127 for c in value)
    )


def _ok(kind: str, value) -> bool:
    if kind == "str":
        return isinstance(value, str) and 0 < len(value.encode()) <= 65536
    if kind == "strlist":
        return isinstance(value, list) and len(value) <= 1000 and all(isinstance(v, str) and v for v in value)
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "media":
        return value in MEDIA_TYPES
    if kind == "count":
        return isinstance(value, int) and not isinstance(value, bool) and value >= 0
    if kind == "precision":
        return isinstance(value, int) and not isinstance(value, bool) and value >= 1
    if kind == "country":
        return isinstance(value, str) and re.fullmatch(r"[A-Z]{2}", value) is not None
    raise AssertionError(kind)


def contract_errors(event: dict) -> list[str]:
    """Every way `event` breaks contract v2; empty when it is valid."""
    errs = []
    if not isinstance(event, dict):
        return ["not an object"]
    if not _id(event.get("event_id")):
        errs.append(f"event_id {event.get('event_id')!r}")
    etype = event.get("event_type")
    if etype not in EVENT_TYPES:
        return errs + [f"event_type {etype!r}"]
    t = event.get("event_time")
    if not (isinstance(t, str) and RFC3339.match(t)):
        errs.append(f"event_time {t!r} not RFC 3339 with offset")
    else:
        try:
            datetime.fromisoformat(t)
        except ValueError:
            errs.append(f"event_time {t!r} not a real time")
    p = event.get("platform")
    if not (isinstance(p, str) and p and p == p.lower()):
        errs.append(f"platform {p!r}")
    if not _id(event.get("profile_id")):
        errs.append(f"profile_id {event.get('profile_id')!r}")
    if event.get("schema_version") != 2:
        errs.append("schema_version is not 2")
    fields = TYPE_FIELDS[etype]
    for name, (kind, required) in fields.items():
        if name not in event:
            if required:
                errs.append(f"{etype} without {name}")
        elif event[name] is None or not _ok(kind, event[name]):
            errs.append(f"{etype}.{name} = {event[name]!r} is not a valid {kind}")
        elif name in ("post_id", "actor_id", "reply_to") and not _id(event[name]):
            errs.append(f"{name} {event[name]!r} not a valid id")
    if etype == "post_metrics" and not any(c in event for c in COUNTERS):
        errs.append("post_metrics without any counter")
    extra = set(event) - COMMON - set(fields)
    if extra:
        errs.append(f"fields outside the contract: {sorted(extra)}")
    return errs


def read_events(out_dir: Path) -> list[dict]:
    events = []
    for path in sorted(Path(out_dir).glob("*.jsonl")):
        events += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return events


def assert_contract(events: list[dict]) -> None:
    bad = {e.get("event_id"): errs for e in events if (errs := contract_errors(e))}
    assert not bad, bad


def assert_accounted(summary) -> None:
    assert summary.records == summary.imported + sum(summary.skipped.values()) + sum(
        summary.rejected.values()
    )
    assert summary.events.total() == sum(summary.events.values())


def by_type(events: list[dict], etype: str) -> list[dict]:
    return [e for e in events if e["event_type"] == etype]
