"""Pure building blocks shared by every source: event ids, times, counts and a mapping's outcome.

Mapping functions (one module per source) take one parsed record (a page, a row) and return an
`Outcome`; they never read files. The reader module does all I/O.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

SCHEMA_VERSION = 2


class ImportRefused(Exception):
    """The import cannot run as asked (usage, missing observation time, unreadable input); one line."""


class MissingObservedAt(ImportRefused):
    pass


@dataclass
class Outcome:
    """What one input record became: events, plus records skipped or rejected with a reason.

    `records` is how many input records this outcome accounts for; each is imported (it gave at
    least one event), skipped (a known reason to give none) or rejected (it does not fit).
    """

    events: list[dict] = field(default_factory=list)
    imported: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (reason, detail)
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (reason, detail)

    def add(self, events: list[dict]) -> None:
        self.events.extend(events)
        self.imported += 1

    def skip(self, reason: str, detail: str = "") -> None:
        self.skipped.append((reason, detail))

    def reject(self, reason: str, detail: str = "") -> None:
        self.rejected.append((reason, detail))

    def merge(self, other: Outcome) -> Outcome:
        self.events += other.events
        self.imported += other.imported
        self.skipped += other.skipped
        self.rejected += other.rejected
        return self

    @property
    def records(self) -> int:
        return self.imported + len(self.skipped) + len(self.rejected)


class BadRecord(ValueError):
    """A value inside a record does not fit the contract; the record is rejected with `reason`."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}")
        self.reason, self.detail = reason, detail


def event_id(platform: str, kind: str, *keys: str) -> str:
    """Deterministic id from platform ids only (and the observation time for observations).

    A hash keeps ids within 128 chars and free of control characters whatever the platform ids are.
    """
    raw = "\x1f".join((platform, kind, *keys)).encode("utf-8", "surrogatepass")
    return f"{platform}-{kind}-{hashlib.sha256(raw).hexdigest()[:32]}"


_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def utc_time(value) -> str:
    """RFC 3339 UTC with `Z`: accepts ISO 8601 with an offset or `Z`, a date (00:00 UTC) or a
    naive time (read as UTC); raises BadRecord otherwise. One canonical spelling per instant, so
    the same moment always hashes to the same event id."""
    if not isinstance(value, str) or not value.strip():
        raise BadRecord("invalid_timestamp", repr(value)[:80])
    text = value.strip()
    try:
        if _DATE_ONLY.match(text):
            moment = datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
        else:
            moment = datetime.fromisoformat(text.replace(" ", "T", 1) if " " in text[:11] else text)
    except ValueError:
        raise BadRecord("invalid_timestamp", text[:80]) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    if moment.year < 1970:
        raise BadRecord("invalid_timestamp", text[:80])
    base = (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
        f"T{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}"
    )  # strftime is 3x slower
    if moment.microsecond:
        base += f".{moment.microsecond:06d}".rstrip("0")
    return base + "Z"


def from_epoch_us(value) -> str:
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRecord("invalid_timestamp", repr(value)[:80])
    try:
        moment = datetime.fromtimestamp(value / 1_000_000, UTC)
    except (OverflowError, OSError, ValueError):
        raise BadRecord("invalid_timestamp", repr(value)[:80]) from None
    return utc_time(moment.isoformat())


def count(value) -> int | None:
    """A platform counter as an int ≥ 0; None when absent (a hidden counter is absent, never 0).
    Accepts JSON numbers and the numeric strings YouTube and CSV exports use ("1,234", "12.0")."""
    if type(value) is int and value >= 0:  # the common case first: this runs for every counter
        return value
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise BadRecord("invalid_type", repr(value))
    if isinstance(value, str):
        text = value.strip().replace(",", "").replace("_", "").replace(" ", "")
        try:
            value = int(text)
        except ValueError:
            try:
                value = float(text)
            except ValueError:
                raise BadRecord("invalid_number", value[:40]) from None
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")) or not value.is_integer():
            raise BadRecord("invalid_number", repr(value))
        value = int(value)
    if not isinstance(value, int):
        raise BadRecord("invalid_type", repr(value)[:40])
    if value < 0:
        raise BadRecord("negative_count", str(value))
    return value


def sigfig_precision(value: int, sigfigs: int) -> int:
    """The unit a count rounded to `sigfigs` significant figures is exact to: 1,234,567 at 3 → 10,000."""
    digits = len(str(value)) if value > 0 else 1
    return 10 ** max(0, digits - sigfigs)


def ident(value) -> str | None:
    """A platform id as a non-empty string (X and YouTube send strings, some clients numbers)."""
    if type(value) is str:
        return value.strip() or None
    if type(value) is int:
        return str(value)
    return None


def list_of(value) -> list:
    """A JSON value that should be a list, or [] (a malformed page is data, not a crash)."""
    return value if isinstance(value, list) else []


def base_event(platform: str, event_type: str, eid: str, time: str, profile_id: str, **fields) -> dict:
    out = {
        "event_id": eid,
        "event_type": event_type,
        "event_time": time,
        "platform": platform,
        "profile_id": profile_id,
        "schema_version": SCHEMA_VERSION,
    }
    out.update({k: v for k, v in fields.items() if v is not None and v != []})
    return out


def post_event(platform: str, post_id: str, profile_id: str, time: str, **fields) -> dict:
    return base_event(
        platform, "post", event_id(platform, "post", post_id), time, profile_id, post_id=post_id, **fields
    )


def metrics_event(platform: str, post_id: str, profile_id: str, observed_at: str, **counters) -> dict | None:
    """A post_metrics observation, or None when the platform showed no counter at all."""
    counters = {k: v for k, v in counters.items() if v is not None}
    if not counters:
        return None
    return base_event(
        platform,
        "post_metrics",
        event_id(platform, "post_metrics", post_id, observed_at),
        observed_at,
        profile_id,
        post_id=post_id,
        **counters,
    )


def snapshot_event(platform: str, profile_id: str, observed_at: str, followers: int, **fields) -> dict:
    return base_event(
        platform,
        "profile_snapshot",
        event_id(platform, "profile_snapshot", profile_id, observed_at),
        observed_at,
        profile_id,
        followers=followers,
        **fields,
    )


def interaction_event(
    platform: str,
    kind: str,
    key: tuple[str, ...],
    time: str,
    profile_id: str,
    post_id: str,
    actor_id: str | None,
    **fields,
) -> dict:
    return base_event(
        platform,
        kind,
        event_id(platform, kind, *key),
        time,
        profile_id,
        post_id=post_id,
        actor_id=actor_id,
        **fields,
    )


def follow_event(platform: str, profile_id: str, actor_id: str, time: str) -> dict:
    return base_event(
        platform,
        "follow",
        event_id(platform, "follow", actor_id, profile_id),
        time,
        profile_id,
        actor_id=actor_id,
    )


def sum_counts(*values: int | None) -> int | None:
    """Sum of the counters present; None when none is (absent stays absent)."""
    present = [v for v in values if v is not None]
    return sum(present) if present else None


_TAG = re.compile(r"(?<![\w&])#(\w{1,100})", re.UNICODE)


def hashtags_in(*texts: str | None) -> list[str]:
    seen: dict[str, None] = {}
    for text in texts:
        if isinstance(text, str):
            for tag in _TAG.findall(text):
                seen.setdefault(tag, None)
    return list(seen)[:1000]


def need_time(observed_at: str | None, what: str) -> str:
    if observed_at is None:
        raise MissingObservedAt(
            f"{what} has no retrieval time of its own; pass --observed-at (when the data was read, "
            "e.g. the HTTP Date of the response) — an importer never uses 'now'"
        )
    return observed_at


def rejected(reason: str, detail: str = "") -> Outcome:
    """An Outcome of one rejected record."""
    out = Outcome()
    out.reject(reason, detail)
    return out


def skipped(reason: str, detail: str = "") -> Outcome:
    """An Outcome of one skipped record."""
    out = Outcome()
    out.skip(reason, detail)
    return out


def guarded(fn: Callable[..., Outcome], *args) -> Outcome:
    """`fn(*args)`, a BadRecord it raises becoming one rejected record (one bad value never stops a page)."""
    try:
        return fn(*args)
    except BadRecord as exc:
        return rejected(exc.reason, exc.detail)


# A page shape: a test that recognises a parsed page, and the mapping for pages of that shape.
Shape = tuple[Callable[[dict], bool], Callable[[dict, "str | None"], Outcome]]


def map_by_shape(page, observed_at: str | None, shapes: Sequence[Shape], expected: str) -> Outcome:
    """Every source's `map_page`: the first shape that recognises the page maps it; a page that is
    not a JSON object, or that no shape recognises, is one rejected record (`expected` says what
    was looked for), and a BadRecord escaping a mapping rejects the page, never the import."""
    if not isinstance(page, dict):
        return rejected("unrecognized_page", "not a JSON object")
    for recognises, mapping in shapes:
        if recognises(page):
            return guarded(mapping, page, observed_at)
    return rejected("unrecognized_page", expected)
