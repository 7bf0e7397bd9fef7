"""What a night reads, rewrites and recomputes, from listings of the warehouse. Pure: no I/O.

Vocabulary, used the same way everywhere:
- `as_of`: the last complete day a run computes windows for;
- `recompute_from`: the first window end day a run recomputes (every later day up to `as_of`
  is recomputed too); the SQL layer recomputes its days from the same day;
- a date is *touched* when the night changes its `events`, *rewritten* when its stored events
  are deduplicated again with the night's and the partition is written whole.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import PurePath

import pyarrow as pa
import pyarrow.compute as pc

from schemas.units import window_start
from storage.warehouse import STREAM_FILE_PREFIX


def default_as_of(now: datetime) -> date:
    """The last complete UTC day."""
    return (now.astimezone(UTC) - timedelta(days=1)).date()


def new_run_id(now: datetime) -> str:
    return now.strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]


def plan_recompute_from(touched: set[date], previous_as_of: date | None, as_of: date) -> date | None:
    """The first window end day to recompute: the earliest touched day, or the day after the last
    run's as-of (windows keep ending after a profile's last event). None: nothing to recompute."""
    starts = [d for d in touched if d <= as_of]
    if previous_as_of is None:
        starts += [as_of] if not starts else []
    elif previous_as_of < as_of:
        starts.append(previous_as_of + timedelta(days=1))
    return min(starts) if starts else None


@dataclass(frozen=True)
class MergeFiles:
    """The stored files the windows pipeline reads, by role."""

    touched_event_files: list[str] = field(default_factory=list)  # deduplicated again, rewritten
    appended_dates: list[date] = field(default_factory=list)  # keep their files beside the run's
    context_event_files: list[str] = field(default_factory=list)  # window context, as events
    context_daily_files: list[str] = field(default_factory=list)  # final days: stored daily rows...
    context_engager_files: list[str] = field(default_factory=list)  # ...and their distinct engagers
    final_days: list[date] = field(default_factory=list)  # the days read as stored daily rows


def plan_merge_files(
    stored: dict[date, list[str]],
    stored_daily: dict[date, list[str]],
    touched: set[date],
    rewritten: set[date],
    recompute_from: date,
    as_of: date,
    daily_final_until: date | None,
) -> MergeFiles:
    """Which stored files the windows pipeline reads, by date:

    - touched and rewritten: its events, deduplicated again with the candidates and rewritten;
    - touched, not rewritten: its events as window context only (every candidate there is new); the
      partition keeps its files beside the run's (`appended_dates`);
    - untouched, from the lookback before `recompute_from` to `as_of`: its stored daily rows and
      its events' distinct engagers when the day is final (up to `daily_final_until`, the last
      run's as-of, and not rewritten by the stream, whose daily rows keep its first copy of an event); otherwise its events.

    `stored` / `stored_daily`: the published `events` / `engagement_daily` files by date."""
    rewritten = touched & rewritten
    context_start = window_start(recompute_from)
    context_days = [d for d in sorted(stored) if context_start <= d <= as_of and d not in rewritten]

    def final(d: date) -> bool:
        return (
            daily_final_until is not None
            and d <= daily_final_until
            and d not in touched
            and d in stored_daily
            and not any(PurePath(f).name.startswith(STREAM_FILE_PREFIX) for f in stored_daily[d])
        )

    final_days = [d for d in context_days if final(d)]
    return MergeFiles(
        touched_event_files=[f for d in sorted(rewritten) for f in stored.get(d, [])],
        appended_dates=[d for d in sorted(touched - rewritten) if stored.get(d)],
        context_event_files=[f for d in context_days if d not in final_days for f in stored[d]],
        context_daily_files=[f for d in final_days for f in stored_daily[d]],
        context_engager_files=[f for d in final_days for f in stored[d]],
        final_days=final_days,
    )


# --- counter bookings (SPEC section 3) ------------------------------------------------------
_POST_KIND = ["platform", "profile_id", "post_id", "kind"]


def _booked_per_day(bookings: pa.Table) -> pa.Table:
    """What the daily rows see of bookings: per (platform, profile_id, kind, day), the sum and
    that something was booked (a booking of 0 still makes the day's engagement come from counters)."""
    return pa.TableGroupBy(
        bookings.select(["platform", "profile_id", "kind", "day", "delta"]),
        ["platform", "profile_id", "kind", "day"],
        use_threads=False,
    ).aggregate([("delta", "sum")])


def _row_keys(table: pa.Table, columns: list[str]) -> pa.Array:
    return pc.binary_join_element_wise(*[pc.cast(table[c], pa.string()) for c in columns], "\x1f")


def _not_in(a: pa.Table, b: pa.Table, columns: list[str]) -> pa.Table:
    return a.filter(pc.invert(pc.is_in(_row_keys(a, columns), value_set=_row_keys(b, columns))))


@dataclass(frozen=True)
class BookingChanges:
    days: set[int]  # days (since 1970-01-01) whose booked sums changed, or that gained or lost a booking
    countered: pa.Table  # (platform, profile_id, post_id, kind) that gained or lost their counter


def booking_changes(before: pa.Table, after: pa.Table) -> BookingChanges:
    """Compares a night's bookings with the stored history's (both over the whole history, same
    horizon): a late or out-of-order observation re-books its post's days, which may lie on
    dates the night's events never touch."""
    columns = ["platform", "profile_id", "kind", "day", "delta_sum"]
    a, b = _booked_per_day(before), _booked_per_day(after)
    changed = pa.concat_tables([_not_in(a, b, columns), _not_in(b, a, columns)])
    keys_a = pa.TableGroupBy(before.select(_POST_KIND), _POST_KIND, use_threads=False).aggregate([])
    keys_b = pa.TableGroupBy(after.select(_POST_KIND), _POST_KIND, use_threads=False).aggregate([])
    countered = pa.concat_tables([_not_in(keys_a, keys_b, _POST_KIND), _not_in(keys_b, keys_a, _POST_KIND)])
    return BookingChanges({d for d in changed["day"].to_pylist() if d is not None}, countered)


def bookings_for_days(bookings: pa.Table, first_day: int, last_day: int, skipped: set[int]) -> pa.Table:
    """The bookings a merge reads: those of the days it computes from events ([first_day,
    last_day] but the `skipped` days, whose stored daily rows it reads), and one day-less row per
    countered (post, kind), so that its events never count, whatever day they fall on."""
    day = bookings["day"]
    keep = pc.and_(pc.greater_equal(day, first_day), pc.less_equal(day, last_day))
    if skipped:
        keep = pc.and_(keep, pc.invert(pc.is_in(day, value_set=pa.array(sorted(skipped), pa.int32()))))
    keys = pa.TableGroupBy(bookings.select(_POST_KIND), _POST_KIND, use_threads=False).aggregate([])
    markers = keys.append_column("day", pa.nulls(keys.num_rows, pa.int32())).append_column(
        "delta", pa.nulls(keys.num_rows, pa.int64())
    )
    return pa.concat_tables(
        [bookings.filter(keep), markers.select(bookings.column_names).cast(bookings.schema)]
    )
