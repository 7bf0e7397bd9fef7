"""Any CSV/TSV → contract events of one kind, columns mapped to contract fields.

A column named like a field is used without a mapping; `--map field=column` names the others.
Each data row is one record. Times: RFC 3339 or ISO 8601; a date alone is 00:00 UTC; a time
without an offset is read as UTC.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from .core import (
    BadRecord,
    ImportRefused,
    Outcome,
    count,
    follow_event,
    metrics_event,
    post_event,
    sigfig_precision,
    snapshot_event,
    utc_time,
)

KINDS = ("profile_snapshot", "post_metrics", "post", "follow")
COUNTERS = ("likes", "comments", "shares", "saves", "views")
# Fields a mapping may name per kind; `observed_at` is the snapshot time column, `posted_at` the
# post's publish time, `followed_at` the follow's time.
FIELDS = {
    "profile_snapshot": (
        "profile_id",
        "observed_at",
        "followers",
        "following",
        "media_count",
        "followers_precision",
        "handle",
        "display_name",
        "country",
        "language",
    ),
    "post_metrics": (
        "profile_id",
        "post_id",
        "observed_at",
        *COUNTERS,
        "posted_at",
        "media_type",
        "hashtags",
        "mentions",
        "sponsored",
        "language",
    ),
    "post": (
        "profile_id",
        "post_id",
        "posted_at",
        "media_type",
        "hashtags",
        "mentions",
        "sponsored",
        "language",
    ),
    "follow": ("profile_id", "actor_id", "followed_at"),
}
REQUIRED = {
    "profile_snapshot": ("profile_id", "followers"),
    "post_metrics": ("profile_id", "post_id"),
    "post": ("profile_id", "post_id", "posted_at"),
    "follow": ("profile_id", "actor_id", "followed_at"),
}
_PLATFORM = re.compile(r"^[a-z][a-z0-9_.-]{0,39}$")
_LIST_SPLIT = re.compile(r"[\s,;|]+")
_TRUE, _FALSE = {"true", "yes", "y", "1", "t"}, {"false", "no", "n", "0", "f", ""}


@dataclass(frozen=True)
class CsvOptions:
    platform: str
    kind: str
    mapping: dict[str, str] = field(default_factory=dict)  # contract field → column
    followers_sigfigs: int | None = None
    observed_at: str | None = None
    profile_id: str | None = None  # every row's profile, for exports of one account

    def __post_init__(self):
        if not isinstance(self.platform, str) or not _PLATFORM.match(self.platform):
            raise ImportRefused(f"--platform must be a lowercase platform name, got {self.platform!r}")
        if self.kind not in KINDS:
            raise ImportRefused(f"--kind must be one of {', '.join(KINDS)}, got {self.kind!r}")
        unknown = sorted(set(self.mapping) - set(FIELDS[self.kind]))
        if unknown:
            raise ImportRefused(
                f"--map: {', '.join(unknown)} not a field of {self.kind} "
                f"(fields: {', '.join(FIELDS[self.kind])})"
            )
        if self.profile_id is not None and (not self.profile_id.strip() or "profile_id" in self.mapping):
            raise ImportRefused("--profile-id needs a value and replaces --map profile_id=COLUMN; give one")
        if self.followers_sigfigs is not None and self.followers_sigfigs < 1:
            raise ImportRefused("--followers-sigfigs must be at least 1")


def parse_map(specs: list[str] | str | None) -> dict[str, str]:
    """`followers=Subscribers,profile_id=Channel ID` (repeatable) → {field: column}."""
    mapping = {}
    for spec in [specs] if isinstance(specs, str) else specs or []:
        for pair in spec.split(","):
            if not pair.strip():
                continue
            name, sep, column = pair.partition("=")
            if not sep or not name.strip() or not column.strip():
                raise ImportRefused(f"--map expects field=column, got {pair.strip()!r}")
            mapping[name.strip()] = column.strip()
    return mapping


def resolve_columns(header: list[str], opts: CsvOptions) -> dict[str, str]:
    """field → column for this file's header; refuses when a required or mapped column is missing."""
    cols = {h.strip(): h for h in header}
    resolved = {}
    for name in FIELDS[opts.kind]:
        column = opts.mapping.get(name, name)
        if column.strip() in cols:
            resolved[name] = cols[column.strip()]
        elif name in opts.mapping:
            raise ImportRefused(
                f"--map {name}={column}: no column {column!r} (header: {', '.join(header)[:200]})"
            )
    given = {"profile_id"} if opts.profile_id else set()
    missing = [n for n in REQUIRED[opts.kind] if n not in resolved and n not in given]
    if missing:
        raise ImportRefused(
            f"no column for {', '.join(missing)}; name it with --map field=column"
            f"{' (or --profile-id for an export of one account)' if 'profile_id' in missing else ''} "
            f"(header: {', '.join(header)[:200]})"
        )
    if (
        opts.kind in ("profile_snapshot", "post_metrics")
        and "observed_at" not in resolved
        and not opts.observed_at
    ):
        raise ImportRefused(
            f"{opts.kind} rows need an observation time: map a snapshot time column "
            "(--map observed_at=COLUMN) or pass --observed-at; an importer never uses 'now'"
        )
    if opts.kind == "post_metrics" and not any(c in resolved for c in COUNTERS):
        raise ImportRefused(f"post_metrics needs at least one counter column ({', '.join(COUNTERS)})")
    return resolved


_SUFFIXED = re.compile(r"^(\d+(?:\.(\d+))?)\s*([kmb])$", re.IGNORECASE)
_EXP = {"k": 3, "m": 6, "b": 9}


def _count(text: str | None) -> tuple[int | None, int | None]:
    """A count and the precision its spelling implies: "12.4K" is 12,400 to the nearest 100."""
    m = _SUFFIXED.match(text.strip()) if text else None
    if not m:
        return count(text), None
    exp, decimals = _EXP[m.group(3).lower()], len(m.group(2) or "")
    if decimals > exp:
        raise BadRecord("invalid_number", text[:40])
    return int(round(float(m.group(1)) * 10**exp)), 10 ** (exp - decimals)


def _list(text: str | None) -> list[str] | None:
    if not text:
        return None
    return [t.lstrip("#@") for t in _LIST_SPLIT.split(text) if t.lstrip("#@")][:1000] or None


def _bool(text: str | None) -> bool | None:
    if text is None:
        return None
    low = text.strip().lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise BadRecord("invalid_value", f"sponsored={text[:20]!r}")


_MEDIA = {
    "photo": "image",
    "picture": "image",
    "carousel": "other",
    "carousel_album": "other",
    "album": "other",
    "short": "video",
    "shorts": "video",
    "clip": "reel",
    "reels": "reel",
    "status": "text",
    "tweet": "text",
}
MEDIA_TYPES = ("image", "video", "reel", "story", "text", "other")


def _media_type(text: str | None) -> str | None:
    # Export spellings vary (Photo, CAROUSEL_ALBUM, Reels); anything unknown is "other", not rejected.
    if text is None:
        return None
    low = text.strip().lower()
    low = _MEDIA.get(low, low)
    return low if low in MEDIA_TYPES else "other"


def _text(value: str | None) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


# Spreadsheet and analytics-UI spellings of a date: "Apr 29, 2020" (YouTube Studio), "29 Apr 2020",
# "3-Jun-26" (the same export saved again by a spreadsheet).
_DATE_FORMATS = (
    "%b %d, %Y",
    "%B %d, %Y",
    "%b %d %Y",
    "%B %d %Y",
    "%d %b %Y",
    "%d %B %Y",
    "%d-%b-%y",
    "%d-%b-%Y",
)


def csv_time(text: str | None) -> str:
    """utc_time, plus the month-name dates exports write (00:00 UTC)."""
    try:
        return utc_time(text)
    except BadRecord:
        for fmt in _DATE_FORMATS:
            try:
                return utc_time(datetime.strptime(text.strip(), fmt).replace(tzinfo=UTC).isoformat())
            except (ValueError, AttributeError):
                continue
        raise


# The summary row analytics exports put above or below the data (YouTube Studio: "Total,,,,61685,…").
_TOTAL = {"total", "totals", "grand total"}


def map_row(row: dict[str, str], columns: dict[str, str], opts: CsvOptions) -> Outcome:
    out = Outcome()
    get = lambda name: _text(row.get(columns[name])) if name in columns else None  # noqa: E731
    ids = [get(n) for n in ("post_id", "profile_id", "actor_id")]
    if any(v is not None and v.lower() in _TOTAL for v in ids):
        out.skip("total_row")
        return out
    given = opts.profile_id.strip() if opts.profile_id else None
    if given:
        get = lambda name, _get=get: given if name == "profile_id" else _get(name)  # noqa: E731
    try:
        out.add(_row_events(get, opts))
    except BadRecord as exc:
        out.reject(exc.reason, exc.detail)
    return out


def _row_events(get, opts: CsvOptions) -> list[dict]:
    platform, kind = opts.platform, opts.kind
    for name in REQUIRED[kind]:
        if get(name) is None:
            raise BadRecord("missing_field", name)
    profile = get("profile_id")
    if kind == "follow":
        return [follow_event(platform, profile, get("actor_id"), csv_time(get("followed_at")))]
    observed = csv_time(get("observed_at")) if get("observed_at") else opts.observed_at
    if observed is None and kind in ("profile_snapshot", "post_metrics"):
        raise BadRecord("missing_field", "observed_at (empty in this row; --observed-at fills it)")
    if kind == "profile_snapshot":
        followers, implied = _count(get("followers"))
        precision = count(get("followers_precision"))
        if precision is None and opts.followers_sigfigs:
            precision = sigfig_precision(followers, opts.followers_sigfigs)
        if implied and implied > (precision or 1):
            precision = implied
        if precision == 0:
            raise BadRecord("invalid_value", "followers_precision must be at least 1")
        country = get("country")
        return [
            snapshot_event(
                platform,
                profile,
                observed,
                followers,
                followers_precision=precision,
                following=count(get("following")),
                media_count=count(get("media_count")),
                handle=get("handle"),
                display_name=get("display_name"),
                country=country.upper() if country and len(country) == 2 else None,
                language=get("language"),
            )
        ]
    post_id = get("post_id")
    events = []
    if get("posted_at"):
        events.append(
            post_event(
                platform,
                post_id,
                profile,
                csv_time(get("posted_at")),
                media_type=_media_type(get("media_type")),
                hashtags=_list(get("hashtags")),
                mentions=_list(get("mentions")),
                sponsored=_bool(get("sponsored")),
                language=get("language"),
            )
        )
    if kind == "post_metrics":
        metrics = metrics_event(
            platform, post_id, profile, observed, **{c: _count(get(c))[0] for c in COUNTERS}
        )
        if metrics is None and not events:
            raise BadRecord("missing_field", "no counter in this row")
        events += [metrics] if metrics else []
    return events
