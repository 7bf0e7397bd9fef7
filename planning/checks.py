"""Freshness and volume checks of a night, from its counts and earlier nights' run reports. Pure.

A check never fails a night: it returns warnings, which the run report, its Prefect artifacts and
the command line show (and `fail_on_warning` turns into a non-zero exit for schedulers).
"""

from __future__ import annotations

from statistics import median


def recent_nights(reports: list[dict], nights: int, before_run: str | None = None) -> list[dict]:
    """The last `nights` nightly run reports (by start time), leaving out `before_run` itself and
    reports that are not a night's (no `counts`, e.g. a backfill's)."""
    kept = [
        r
        for r in reports
        if isinstance(r.get("counts"), dict)
        and r.get("run_id") != before_run
        and isinstance(r["counts"].get("lines_read"), int)
        and r.get("started_at")
    ]
    return sorted(kept, key=lambda r: (r["started_at"], r["run_id"]))[-nights:] if nights > 0 else []


def freshness_and_volume(
    files_to_read: int,
    lines_read: int,
    previous: list[dict],
    max_volume_drop: float,
    landing: str = "the landing directory",
) -> list[dict]:
    """Warnings (`{"check", "message", ...}`) for a night that read `files_to_read` new or changed
    files holding `lines_read` lines, against `previous` nights' reports (see `recent_nights`):
    - freshness: nothing new landed;
    - volume: lines read fell by more than `max_volume_drop` (a share) below the median of the
      previous nights' lines read (not checked without previous nights, or when nothing landed:
      the freshness warning says it)."""
    if files_to_read == 0:
        return [{"check": "freshness", "message": f"nothing new landed in {landing}"}]
    usual = median_lines_read(previous)
    floor = (1 - max_volume_drop) * usual
    if usual > 0 and lines_read < floor:
        drop = 1 - lines_read / usual
        return [
            {
                "check": "volume",
                "lines_read": lines_read,
                "median_lines_read": usual,
                "nights": len(previous),
                "message": f"volume dropped: {lines_read:,} lines read, {drop:.0%} below the median of the last "
                f"{len(previous)} nights ({usual:,.0f}); warns beyond {max_volume_drop:.0%}",
            }
        ]
    return []


def median_lines_read(previous: list[dict]) -> float:
    """The median of the nights' lines read (0 without nights)."""
    return median([r["counts"]["lines_read"] for r in previous]) if previous else 0
