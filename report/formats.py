"""Numbers, days and moments written for people: the one place the report (the page's filters and
the charts' labels) formats them, pinned by tests/report/test_report_data.py.

The conventions are those of the reasons the SQL layer writes (sql/marts/profile_daily.sql):
thousands with commas (12,300 followers), changes signed in whole percent (+18%), rates with one
decimal (4.1%); axis ticks alone are compact (1.2M). Unknown is a dash, never 0.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime

from schemas.events import REJECT_REASONS

UNKNOWN = "—"


def fmt_int(value) -> str:
    """12400 -> 12,400; unknown -> —."""
    return UNKNOWN if value is None else f"{int(value):,}"


def fmt_change(value) -> str:
    """A growth ratio as a signed percentage: 0.18 -> +18%."""
    if value is None:
        return UNKNOWN
    return f"{100 * value:+,.0f}%"


def fmt_rate(value) -> str:
    """A rate as a percentage: 0.0412 -> 4.1%."""
    return UNKNOWN if value is None else f"{100 * value:,.1f}%"


def fmt_decimal(value, places: int = 1) -> str:
    return UNKNOWN if value is None else f"{value:,.{places}f}"


def fmt_compact(value: float, _pos=None) -> str:
    """12,400 -> 12.4k, 1,200,000 -> 1.2M; for axis ticks only (the page's own numbers are written
    in full). `_pos`: matplotlib's tick position, unused."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    for limit, suffix in ((1e6, "M"), (1e3, "k")):
        if abs(value) >= limit:
            text = f"{value / limit:.1f}".rstrip("0").rstrip(".")
            return text + suffix
    return f"{value:,.0f}"


def fmt_seconds(value) -> str:
    if value is None:
        return UNKNOWN
    if value < 60:
        return f"{value:.1f} s"
    minutes, seconds = divmod(round(value), 60)
    return f"{minutes} min {seconds:02d} s"


def day_label(day: date) -> str:
    return f"{day.day} {day:%b %Y}"


def fmt_day(value) -> str:
    if value is None:
        return UNKNOWN
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    return day_label(value)


def fmt_moment(value) -> str:
    """An ISO timestamp for people: 2 Dec 2026, 02:51 UTC."""
    if not value:
        return UNKNOWN
    moment = datetime.fromisoformat(value).astimezone(UTC)
    return f"{day_label(moment.date())}, {moment:%H:%M} UTC"


def fmt_reason(text: str) -> str:
    """A reason as the SQL wrote it, typeset: 11,085 -> 18,448 gets an arrow, 1.2x a times sign."""
    return re.sub(r"(\d)x\b", "\\1×", text.replace(" -> ", " → "))


def fmt_reject(code: str) -> str:
    """A rejection reason in words, from the contract's own list (schemas.events.REJECT_REASONS)."""
    return REJECT_REASONS.get(code, "")
