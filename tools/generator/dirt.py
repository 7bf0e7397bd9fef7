"""Realistic dirt: how clean events turn into the messy files a landing directory holds.

A pipeline tested only on clean input proves little.  This module decides, seeded and
deterministically, which landed day and file each event goes to (some land 1–3 days
late), re-delivers ~1% of events (same or later file), adds a few *conflicting*
duplicates, malformed lines of every reject reason in SPEC section 2, blank lines,
unknown extra fields, optional ``schema_version``, and picks file formats (``.jsonl``,
``.ndjson``, ``.gz``, one CRLF file, one file with a UTF-8 BOM).  Pure logic: it returns
the file contents; ``writer.py`` puts them on disk.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import orjson

from .events import DAY_US, Event, render_time

LATE_SHARE = 0.03
DUPLICATE_SHARE = 0.01
CONFLICTING_DUPLICATES = 5
MALFORMED_PER_REASON = 3
BLANK_LINES = 5
MALFORMED_REASONS = (
    "invalid_json",
    "missing_field",
    "invalid_type",
    "invalid_timestamp",
    "naive_timestamp",
    "unknown_event_type",
    "negative_count",
    "future_event",
)
_CLIENTS = ("ios", "android", "web")


@dataclass
class LandedFile:
    """One file of the landing directory, before it is written."""

    day: dt.date
    platform: str
    number: int
    entries: list[tuple[int, bytes]] = field(default_factory=list)  # (sort key, line)
    extension: str = "jsonl"
    crlf: bool = False
    bom: bool = False

    @property
    def name(self) -> str:
        return f"{self.platform}-{self.number}.{self.extension}"

    def lines(self) -> list[bytes]:
        return [line for _, line in sorted(self.entries, key=lambda e: e[0])]


@dataclass(frozen=True)
class DirtReport:
    duplicate_lines: int  # exact re-deliveries (byte-identical lines)
    conflicting_duplicates: int  # same (platform, event_id), different payload
    late_events: int  # events whose landed day is after their event day
    blank_lines: int
    malformed_counts: dict[str, int]


def _dumps(rec: dict) -> bytes:
    # orjson's result keeps a ~4 KiB allocation per object; copying it into an exact-size
    # bytes object cuts the memory of ~650k kept lines from ~2.8 GB to ~200 MB.
    return bytes(memoryview(orjson.dumps(rec)))


class Line(NamedTuple):
    """A serialized logical event: compact, so ~650k of them stay cheap in memory."""

    time_us: int
    platform: str
    event_type: str
    data: bytes


def serialize(events: list[Event], seed: int, index: int) -> list[Line]:
    """JSON lines; ~30% carry ``schema_version: 1``, ~5% an unknown ``client`` field."""
    rng = np.random.default_rng([seed, 5, index])
    with_version = (rng.random(len(events)) < 0.30).tolist()
    extra = (rng.random(len(events)) < 0.05).tolist()
    clients = rng.integers(0, len(_CLIENTS), len(events)).tolist()
    out = []
    for i, ev in enumerate(events):
        v2 = ev.record["event_type"] == "post_metrics" or "followers_precision" in ev.record
        rec = {"schema_version": 2 if v2 else 1, **ev.record} if with_version[i] else ev.record
        if extra[i]:
            rec = {**rec, "client": _CLIENTS[clients[i]]}
        out.append(Line(ev.time_us, rec["platform"], rec["event_type"], _dumps(rec)))
    return out


class LandingBuilder:
    """Collects lines into files keyed by (landed day index, platform, file number)."""

    def __init__(self, rng: np.random.Generator, start_date: dt.date, days: int):
        self.rng, self.start_date, self.days = rng, start_date, days
        self.files: dict[tuple[int, str, int], LandedFile] = {}
        self.n_files: dict[tuple[int, str], int] = {}

    def file_for(self, day: int, platform: str, u: float | None = None) -> LandedFile:
        """A file of that landed day and platform; ``u`` in [0, 1) picks which one.

        Callers placing many lines pass pre-drawn ``u`` (a scalar draw per line is slow).
        """
        key = (day, platform)
        if key not in self.n_files:  # one to three files per landed day and platform
            self.n_files[key] = int(self.rng.integers(1, 4))
        if u is None:
            u = float(self.rng.random())
        number = 1 + int(u * self.n_files[key])
        fkey = (day, platform, number)
        if fkey not in self.files:
            self.files[fkey] = LandedFile(self.start_date + dt.timedelta(days=day), platform, number)
        return self.files[fkey]

    def later_day(self, day: int) -> int:
        # Files may land at most on the day after end_date ("today" for a nightly run).
        return min(day + int(self.rng.integers(1, 4)), self.days)

    def random_file(self, exclude: LandedFile | None = None) -> LandedFile:
        keys = sorted(k for k, f in self.files.items() if f is not exclude)
        return self.files[keys[int(self.rng.integers(len(keys)))]]

    def insert_anywhere(self, f: LandedFile, line: bytes) -> None:
        """Put an extra line at a random position of the file."""
        # Borrow the sort key of a random existing entry: O(1) and lands among them.
        key = f.entries[int(self.rng.integers(len(f.entries)))][0] if f.entries else 0
        f.entries.append((key, line))


def _place_events(b: LandingBuilder, lines: list[Line], start_us: int) -> tuple[list[LandedFile], int]:
    """Landed file of every event; ~3% land 1–3 days late.  Returns files and late count."""
    rng = b.rng
    late = (rng.random(len(lines)) < LATE_SHARE).tolist()
    # Files are roughly, not strictly, in time order: jitter the sort key by up to 1 h.
    jitter = rng.integers(-3_600_000_000, 3_600_000_000, len(lines)).tolist()
    which = rng.random(len(lines)).tolist()
    placed, n_late = [], 0
    for line, is_late, jit, u in zip(lines, late, jitter, which):
        day = (line.time_us - start_us) // DAY_US
        landed = b.later_day(day) if is_late else day
        n_late += landed > day
        f = b.file_for(landed, line.platform, u)
        f.entries.append((line.time_us + jit, line.data))
        placed.append(f)
    return placed, n_late


def _duplicate(b: LandingBuilder, lines: list[Line], placed: list[LandedFile]) -> int:
    """Re-deliver ~1% of events byte-identically, in the same file or a later day's."""
    chosen = np.flatnonzero(b.rng.random(len(lines)) < DUPLICATE_SHARE).tolist()
    for i in chosen:
        f = placed[i]
        if b.rng.random() < 0.5:
            day = (f.day - b.start_date).days
            f = b.file_for(b.later_day(day), f.platform)
        b.insert_anywhere(f, lines[i].data)
    return len(chosen)


def _record(line: Line) -> dict:
    """The SPEC fields of a serialized line (dirt-only extras removed)."""
    rec = orjson.loads(line.data)
    rec.pop("schema_version", None)
    rec.pop("client", None)
    return rec


def _conflicting(b: LandingBuilder, lines: list[Line], placed: list[LandedFile], start_us: int) -> int:
    """Same (platform, event_id), event_time moved by seconds within the same UTC day."""
    kind = _template_type(lines)
    likes = [i for i, line in enumerate(lines) if line.event_type == kind]
    picks = b.rng.choice(len(likes), size=min(CONFLICTING_DUPLICATES, len(likes)), replace=False)
    for k in sorted(picks.tolist()):
        ev = Event(lines[likes[k]].time_us, _record(lines[likes[k]]))
        shift = int(b.rng.integers(1, 31)) * 1_000_000
        in_day = (ev.time_us - start_us) % DAY_US
        if in_day + shift >= DAY_US:
            shift = -shift
        rec = {**ev.record, "event_time": render_time(ev.time_us + shift, 0)}
        b.insert_anywhere(placed[likes[k]], _dumps(rec))
    return len(picks)


def malformed_line(reason: str, k: int, template: Event, end_date: dt.date) -> bytes:
    """One rejected line with exactly one defect; ``k`` varies the flavour."""
    rec = {**template.record, "event_id": f"bad-{reason}-{k}"}
    if reason == "invalid_json":  # a truncated write
        text = orjson.dumps(rec)
        return text[: len(text) * 3 // 5]
    if reason == "missing_field":
        rec.pop("event_id" if k % 2 == 0 else "profile_id")
    elif reason == "invalid_type":
        if k % 2 == 0:
            rec = {**_snapshot_like(rec), "followers": "abc"}
        else:
            rec = {**_post_like(rec), "hashtags": "#summer,#beach"}
    elif reason == "invalid_timestamp":
        rec["event_time"] = "2026-13-45T99:00:00Z"
    elif reason == "naive_timestamp":  # a valid wall time with no offset
        rec["event_time"] = f"{end_date - dt.timedelta(days=k + 1)}T1{k}:30:00"
    elif reason == "unknown_event_type":
        rec["event_type"] = "retweet"
    elif reason == "negative_count":
        rec = {**_snapshot_like(rec), "followers": -5}
    elif reason == "future_event":
        # Four days after end_date: > 24 h after any ingest up to end_date + 3 days.
        when = dt.datetime.combine(end_date + dt.timedelta(days=4), dt.time(12, k))
        rec["event_time"] = when.isoformat() + "Z"
    else:
        raise ValueError(reason)
    return orjson.dumps(rec)


def _snapshot_like(rec: dict) -> dict:
    keep = ("event_id", "event_type", "event_time", "platform", "profile_id")
    out = {k: rec[k] for k in keep if k in rec}
    return {**out, "event_type": "profile_snapshot", "followers": 0}


def _post_like(rec: dict) -> dict:
    keep = ("event_id", "event_type", "event_time", "platform", "profile_id")
    out = {k: rec[k] for k in keep if k in rec}
    return {**out, "event_type": "post", "post_id": f"{rec['event_id']}-post", "hashtags": []}


def _template_type(lines: list[Line]) -> str:
    """Dirt is made from likes; from post counters when the platforms deliver no likes
    (observation mode)."""
    return "like" if any(line.event_type == "like" for line in lines) else "post_metrics"


def _malformed(b: LandingBuilder, lines: list[Line], end_date: dt.date) -> dict[str, int]:
    kind = _template_type(lines)
    likes = [line for line in lines if line.event_type == kind]
    counts: Counter[str] = Counter()
    for reason in MALFORMED_REASONS:
        for k in range(MALFORMED_PER_REASON):
            line = likes[int(b.rng.integers(len(likes)))]
            template = Event(line.time_us, _record(line))
            b.insert_anywhere(b.random_file(), malformed_line(reason, k, template, end_date))
            counts[reason] += 1
    return dict(counts)


def _formats(b: LandingBuilder) -> list[LandedFile]:
    """Pick extensions, then one CRLF file and one BOM file among the plain ones."""
    files = [b.files[k] for k in sorted(b.files)]
    exts = b.rng.choice(
        ["jsonl", "jsonl.gz", "ndjson", "ndjson.gz"], size=len(files), p=[0.76, 0.12, 0.09, 0.03]
    )
    for f, ext in zip(files, exts):
        f.extension = str(ext)
    # Guarantee the minimums whatever the draw (small samples have few files).
    for pos, ext in ((0, "jsonl.gz"), (1, "jsonl.gz"), (2, "ndjson")):
        if sum(f.extension == ext for f in files) < (2 if ext == "jsonl.gz" else 1):
            files[-1 - pos].extension = ext
    plain = [f for f in files if not f.extension.endswith(".gz")]
    crlf, bom = b.rng.choice(len(plain), size=2, replace=False)
    plain[crlf].crlf = True
    plain[bom].bom = True
    return files


def _blank_lines(b: LandingBuilder, files: list[LandedFile]) -> int:
    """A few empty lines, kept out of the CRLF file so "blank" stays unambiguous."""
    candidates = [f for f in files if not f.crlf]
    for _ in range(BLANK_LINES):
        b.insert_anywhere(candidates[int(b.rng.integers(len(candidates)))], b"")
    return BLANK_LINES


def land(
    lines: list[Line], start_date: dt.date, days: int, end_date: dt.date, seed: int
) -> tuple[list[LandedFile], DirtReport]:
    """Distribute serialized events into landing files and add all the dirt."""
    rng = np.random.default_rng([seed, 4])
    start_us = (
        int((dt.datetime.combine(start_date, dt.time()) - dt.datetime(1970, 1, 1)).total_seconds())
        * 1_000_000
    )
    b = LandingBuilder(rng, start_date, days)
    placed, n_late = _place_events(b, lines, start_us)
    n_dup = _duplicate(b, lines, placed)
    n_conflict = _conflicting(b, lines, placed, start_us)
    malformed = _malformed(b, lines, end_date)
    files = _formats(b)
    n_blank = _blank_lines(b, files)
    report = DirtReport(n_dup, n_conflict, n_late, n_blank, malformed)
    return files, report
