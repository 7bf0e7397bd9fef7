"""Post counters in the stream: per post, the state the batch's booking rule needs, and what each
new event changes (SPEC section 3; the bookings come from the shared `engagement.counter_bookings`).

A post's bookings depend on its whole observation history: its `post` event (the publish day)
and every `post_metrics` copy, ordered by (event_time, event_id). `PostCounters` keeps exactly
that (every accepted copy; duplicates are resolved by the batch rule, `ingest.dedup`, each time)
and, per interaction kind, the days on which the post received events of that kind: once the
kind has a counter, those days' events no longer count, so their day windows need a marker.

What a day window needs from a post is its **day set**: the post's booking rows on that day
(engagement.BOOKING_SCHEMA) plus a day-less marker row per countered kind with events on that
day. An event that changes the post's history changes some day sets; the stream sends each
changed set, whole and versioned, to the window of its day, where the newest version replaces
the older ones (`latest_day_sets`). So a late or out-of-order observation re-books its own day
and its successor's day exactly as the nightly run re-books them.

The one case the stream cannot book as the batch does: a change that lands on a day whose
windows are closed (its end + allowed lateness is at or before the event's arrival stamp: the
same rule as `ParseLineFn`'s too-late events), e.g. a post's first observation arriving when
its publish day is closed, or an observation arriving behind a later one whose day is closed.
Such an event is refused (`apply` returns None): it goes to `stream_too_late` and changes
nothing, so no row is written that the batch would not also hold at that moment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import pyarrow as pa

from ingest import dedup, parse, tables
from pipelines import engagement
from schemas.units import DAY_S, US_PER_DAY

_I = {name: i for i, name in enumerate(parse.EVENT_COLUMNS)}
HISTORY_TYPES = ("post", "post_metrics")  # the events a post's bookings depend on
MIN_ARRIVAL_US = -(2**62)  # an element stamped before any watermark: no window is closed yet


class DaySet(NamedTuple):
    """The booking rows (engagement.BOOKING_SCHEMA tuples) one post contributes to one day
    window, version `version` of that post's state (the newest version wins)."""

    post_key: tuple[str, str, str]
    day: int
    version: int
    rows: tuple[tuple, ...]


def post_key_of(row: tuple) -> tuple[str, str, str] | None:
    """(platform, profile_id, post_id) of an event that matters to a post's counters (its post, its
    observations, its interactions), else None."""
    post_id = row[_I["post_id"]]
    if post_id is None or (
        row[_I["event_type"]] not in HISTORY_TYPES and row[_I["event_type"]] not in engagement.KIND_OF_EVENT
    ):
        return None
    return row[_I["platform"]], row[_I["profile_id"]], post_id


@dataclass
class PostCounters:
    """One post's counter state: its accepted post and post_metrics copies (row, source_file,
    source_line), the days of its interaction events per kind, and its bookings (cached)."""

    copies: list[tuple] = field(default_factory=list)
    event_days: dict[str, set[int]] = field(default_factory=dict)
    bookings: tuple[tuple, ...] = ()
    version: int = 0

    def day_sets(self) -> dict[int, tuple[tuple, ...]]:
        return day_sets(self.bookings, self.event_days)


def bookings_of(copies: list[tuple]) -> tuple[tuple, ...]:
    """A post's post and post_metrics copies -> its counter bookings (the shared batch code, after
    the batch's duplicate rule), as sorted BOOKING_SCHEMA tuples."""
    if not copies:
        return ()
    by_file: dict[str, tuple[list, list]] = {}
    for row, source_file, number in copies:
        rows, lines = by_file.setdefault(source_file, ([], []))
        rows.append(row)
        lines.append(number)
    table = tables.concat([tables.events_table(r, f, n) for f, (r, n) in sorted(by_file.items())])
    kept, _ = dedup.deduplicate(table.append_column(tables.IS_NEW, pa.array([True] * table.num_rows)))
    booked = engagement.counter_bookings(kept.select(engagement.BOOKING_COLUMNS))
    names = engagement.BOOKING_SCHEMA.names
    return tuple(sorted(tuple(r[n] for n in names) for r in booked.to_pylist()))


def day_sets(bookings: tuple[tuple, ...], event_days: dict[str, set[int]]) -> dict[int, tuple[tuple, ...]]:
    """Bookings and interaction days -> {day: the rows that day's window needs}: the bookings on
    that day, and a marker (day None, delta None) per countered kind with events that day."""
    out: dict[int, list[tuple]] = {}
    countered = {}
    for row in bookings:
        platform, profile_id, post_id, kind, day, _ = row
        out.setdefault(day, []).append(row)
        countered[kind] = (platform, profile_id, post_id)
    for kind, days in event_days.items():
        if kind in countered:
            for day in days:
                out.setdefault(day, []).append((*countered[kind], kind, None, None))
    return {day: tuple(sorted(rows, key=_order)) for day, rows in out.items()}


def _order(row: tuple):
    return tuple((v is None, v) for v in row)


def closed(day: int, arrival_us: int, allowed_lateness_s: int) -> bool:
    """Are the windows of `day` closed for an element stamped `arrival_us` (ParseLineFn's rule)?"""
    return (day + 1) * DAY_S * 10**6 + allowed_lateness_s * 10**6 <= arrival_us


@dataclass(frozen=True)
class Change:
    state: PostCounters
    day_sets: dict[int, tuple[tuple, ...]]  # the changed days' new sets (empty: nothing booked there)


def apply(state: PostCounters, event: tuple, arrival_us: int, allowed_lateness_s: int) -> Change | list[int]:
    """Take one event of the post (row, source_file, source_line) arriving at `arrival_us` (the
    watermark stamp it met). Returns the new state and the day sets it changed, or, when a
    changed day is closed, the closed days (the event is refused; `state` is unchanged)."""
    row = event[0]
    before = state.day_sets()
    etype = row[_I["event_type"]]
    if etype in HISTORY_TYPES:
        copies = [*state.copies, event]
        new = PostCounters(copies, state.event_days, bookings_of(copies), state.version)
    else:
        kind = engagement.KIND_OF_EVENT[etype]
        day = row[_I["event_time"]] // US_PER_DAY
        if day in state.event_days.get(kind, ()):
            return Change(state, {})
        days = {k: set(v) for k, v in state.event_days.items()}
        days.setdefault(kind, set()).add(day)
        new = PostCounters(state.copies, days, state.bookings, state.version)
    after = new.day_sets()
    changed = {d: after.get(d, ()) for d in sorted(set(before) | set(after)) if before.get(d) != after.get(d)}
    too_late = [d for d in changed if closed(d, arrival_us, allowed_lateness_s)]
    if too_late:
        return too_late
    if changed:
        new.version += 1
    return Change(new, changed)


def latest_day_sets(sets) -> list[tuple]:
    """DaySets of one day window (several versions per post) -> the booking rows of each post's
    newest version."""
    newest: dict[tuple, DaySet] = {}
    for s in sets:
        if s.post_key not in newest or s.version > newest[s.post_key].version:
            newest[s.post_key] = s
    return [row for key in sorted(newest) for row in newest[key].rows]


def bookings_table(rows: list[tuple]) -> pa.Table:
    names = engagement.BOOKING_SCHEMA.names
    return pa.Table.from_pylist([dict(zip(names, r)) for r in rows], schema=engagement.BOOKING_SCHEMA)


def seed_states(stored: pa.Table) -> dict[tuple[str, str, str], PostCounters]:
    """storage.stream_posts rows -> the per-post states they were built from (their lines parsed
    again; an interaction day as its day). The rows are what earlier runs accepted: no decision is
    taken again."""
    copies: dict[tuple, list] = {}
    days: dict[tuple, dict[str, set[int]]] = {}
    for r in stored.to_pylist():
        key = (r["platform"], r["profile_id"], r["post_id"])
        if r["kind"] is not None:
            days.setdefault(key, {}).setdefault(r["kind"], set()).add(r["day"])
            continue
        row = parse.parse_line(r["raw_line"].encode("utf-8"), r["arrival_us"], min_event_us=0)
        if isinstance(row, tuple):  # it parsed when it was accepted; a changed contract would drop it here
            copies.setdefault(key, []).append((row, r["source_file"], r["source_line"]))
    return {
        key: PostCounters(copies.get(key, []), days.get(key, {}), bookings_of(copies.get(key, [])))
        for key in sorted(set(copies) | set(days))
    }


def stored_row(key: tuple[str, str, str], arrival_us: int, line=None, kind_day=None) -> dict:
    """A storage.stream_posts row: an accepted line (source_file, source_line, raw text) or an
    interaction day (kind, day)."""
    source_file, source_line, raw_line = line or (None, None, None)
    kind, day = kind_day or (None, None)
    return {
        "platform": key[0],
        "profile_id": key[1],
        "post_id": key[2],
        "kind": kind,
        "day": day,
        "source_file": source_file,
        "source_line": source_line,
        "raw_line": raw_line,
        "arrival_us": arrival_us,
    }
