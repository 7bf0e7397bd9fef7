"""Time units and window lengths: the one home of day, epoch and microsecond arithmetic.

Inside the pipelines a day is an int (days since 1970-01-01 UTC): Beam keys must encode
deterministically and numpy indexes by int. Event times are ints of microseconds since the
epoch. Dates appear only at table boundaries; these functions convert between the three.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

EPOCH = date(1970, 1, 1)
_EPOCH_UTC = datetime(1970, 1, 1, tzinfo=UTC)
US_PER_S = 1_000_000
DAY_S = 86_400
US_PER_DAY = DAY_S * US_PER_S

# Trailing window lengths in days (SPEC section 3).
WINDOW_LENGTHS = (7, 14, 28)
# Days before a window end that the window also spans: the longest window's lookback. Every
# "which days does a recomputation read" question derives from it.
LOOKBACK_DAYS = max(WINDOW_LENGTHS) - 1


def day_number(d: date) -> int:
    """A date as days since 1970-01-01."""
    return (d - EPOCH).days


def day_date(day: int) -> date:
    """Days since 1970-01-01 as a date."""
    return EPOCH + timedelta(days=int(day))


def day_of_us(time_us: int) -> int:
    """The UTC day (days since 1970-01-01) of a time in microseconds since the epoch."""
    return time_us // US_PER_DAY


def to_us(moment: datetime) -> int:
    """An aware datetime as microseconds since the epoch."""
    delta = moment - _EPOCH_UTC  # aware subtraction: no conversion that could overflow near year 1
    return (delta.days * DAY_S + delta.seconds) * US_PER_S + delta.microseconds


def horizon_start(as_of: date, history_horizon_days: int) -> date:
    """The history horizon's first day (SPEC section 5): as_of - (history_horizon_days - 1)."""
    return as_of - timedelta(days=history_horizon_days - 1)


def window_start(end: date) -> date:
    """The first day the longest trailing window ending on `end` spans."""
    return end - timedelta(days=LOOKBACK_DAYS)


def filed_day(day: date, horizon: date | None, stored_days: frozenset[date] | set[date]) -> date:
    """The `events` partition a day's events are filed under (SPEC section 5: older events are kept
    but do not spawn a partition per day back to 2010): their own day from the history horizon
    on, or where a partition of that day is already stored (it was inside the horizon when it
    was written, or the stream wrote it); before the horizon otherwise, the first day of their
    year. The horizon only moves forward, so a day filed under its year stays there."""
    if horizon is None or day >= horizon or day in stored_days:
        return day
    return date(day.year, 1, 1)
