"""Sample-data generator: a realistic, dirty landing directory with planted ground truth.

``generate_landing`` plans profiles of known archetypes (rising micro, bought spike, ...),
turns them into SPEC section 2 events, adds realistic dirt and writes
``out_dir/landing/<YYYY-MM-DD>/<platform>-<n>.<ext>`` plus ``out_dir/ground_truth.csv``.
Same arguments, same bytes.

``mode`` says what the platforms deliver: ``events`` (every like with its liker, a snapshot a
day: the default), ``observation`` (every platform like YouTube's API: post counters and sparse
follower counts rounded to 3 significant figures) or ``mixed`` (YouTube observed, the others
events). The planted archetypes and the ground truth are the same in every mode.
"""

from __future__ import annotations

import datetime as dt
import pathlib
from collections import Counter, defaultdict
from dataclasses import dataclass

from .archetypes import ARCHETYPES, WINDOW_DAYS, plan_profiles, tier_of
from .dirt import Line, land, serialize
from .events import DAY_US, pin_day_edges, profile_events
from .writer import write_ground_truth, write_landing

__all__ = ["GenerationSummary", "generate_landing", "MODES", "WINDOW_DAYS"]

MODES = ("events", "observation", "mixed")


@dataclass(frozen=True)
class GenerationSummary:
    out_dir: pathlib.Path
    landing_dir: pathlib.Path
    ground_truth_path: pathlib.Path
    files_written: int
    lines_written: int  # every line, blank and malformed ones included
    events_generated: int  # distinct logical events (distinct platform+event_id)
    start_date: dt.date
    end_date: dt.date
    archetype_counts: dict[str, int]
    tier_counts: dict[str, int]  # tier of each profile at end_date
    duplicate_lines: int  # byte-identical re-deliveries
    conflicting_duplicates: int  # same platform+event_id, different payload
    late_events: int  # events landed 1-3 days after their event day
    blank_lines: int
    malformed_counts: dict[str, int]  # rejected lines written, by SPEC reason

    @property
    def malformed_lines(self) -> int:
        return sum(self.malformed_counts.values())


def _yesterday_utc() -> dt.date:
    return dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)


def generate_landing(
    out_dir: pathlib.Path,
    *,
    profiles: int = 200,
    days: int = 60,
    seed: int = 7,
    end_date: dt.date | None = None,
    mode: str = "events",
) -> GenerationSummary:
    """Generate the sample landing directory and ground truth under ``out_dir``.

    Events span the UTC days ``[end_date - (days - 1), end_date]``; ``end_date`` defaults
    to yesterday (UTC).  Late files may land in the directory of ``end_date + 1``.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    out_dir = pathlib.Path(out_dir)
    end_date = end_date or _yesterday_utc()
    start_date = end_date - dt.timedelta(days=days - 1)
    plans = plan_profiles(profiles, days, seed)
    lines = _all_lines(plans, start_date, days, seed, mode)
    files, dirt = land(lines, start_date, days, end_date, seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    landing_dir = out_dir / "landing"
    n_files, n_lines = write_landing(landing_dir, files)
    ground_truth = out_dir / "ground_truth.csv"
    write_ground_truth(ground_truth, plans)
    return GenerationSummary(
        out_dir=out_dir,
        landing_dir=landing_dir,
        ground_truth_path=ground_truth,
        files_written=n_files,
        lines_written=n_lines,
        events_generated=len(lines),
        start_date=start_date,
        end_date=end_date,
        archetype_counts={a: sum(p.archetype == a for p in plans) for a in ARCHETYPES},
        tier_counts=dict(sorted(Counter(tier_of(p.followers_end) for p in plans).items())),
        duplicate_lines=dirt.duplicate_lines,
        conflicting_duplicates=dirt.conflicting_duplicates,
        late_events=dirt.late_events,
        blank_lines=dirt.blank_lines,
        malformed_counts=dirt.malformed_counts,
    )


def _observed(platform: str, mode: str) -> bool:
    return mode == "observation" or (mode == "mixed" and platform == "youtube")


def _all_lines(plans, start_date: dt.date, days: int, seed: int, mode: str = "events") -> list[Line]:
    """Every logical event, serialized profile by profile (dict records are transient)."""
    by_platform: dict[str, list[str]] = defaultdict(list)
    for p in plans:
        by_platform[p.platform].append(p.profile_id)
    start_us = (start_date - dt.date(1970, 1, 1)).days * DAY_US
    lines: list[Line] = []
    for p in plans:
        observe = _observed(p.platform, mode)
        events = profile_events(p, start_date, days, by_platform[p.platform], seed, observe)
        if p.index == 0 and not observe:
            pin_day_edges(events, start_us)
        lines.extend(serialize(events, seed, p.index))
    return lines
