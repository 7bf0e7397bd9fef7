"""What a night is and what its steps hand each other: the run (`Night`), what landed (`Landed`),
what it reads and recomputes (`NightPlan`), and `timed`, which makes a step return its wall time.

The nightly flow records each step's wall time under the step's name, and the process's peak
memory when the step ended (`StepLog`), for the run report.
"""

from __future__ import annotations

import functools
import resource
import time
from dataclasses import dataclass, field
from datetime import date, datetime

import pyarrow as pa

from ingest import landing
from pipelines import engagement
from schemas import config as cfg
from schemas.units import to_us
from storage import manifest
from storage.warehouse import Warehouse


@dataclass
class Night:
    """One run: what it was asked, and what its steps found (each step fills its part)."""

    wh: Warehouse
    landing_dir: str
    run_id: str
    as_of: date
    started: datetime  # the ingest moment: `future_event` and `ingest_date` follow it
    full_refresh: bool = False
    beam_args: list[str] = field(default_factory=list)
    num_buckets: int | None = None  # None: follows the input's size
    config: cfg.Config = cfg.DEFAULT
    clock: float = field(default_factory=time.perf_counter)  # the run's start, for its total time

    @property
    def staging(self) -> str:
        return str(self.wh.staging_dir(self.run_id))

    @property
    def ingest_us(self) -> int:
        return to_us(self.started)


def timed(step: str):
    """Makes the wrapped step (its first argument the night) return `(its result, its wall time in
    seconds)`; inside the task, so the time is the step's own work, not Prefect's. An I/O error
    leaving it says in which step it happened, beside the path it names."""

    def wrap(fn):
        @functools.wraps(fn)
        def run(night: Night, *args, **kwargs):
            clock = time.perf_counter()
            try:
                result = fn(night, *args, **kwargs)
            except OSError as exc:
                if exc.errno is None or (exc.strerror or "").endswith(")"):
                    raise
                raise type(exc)(exc.errno, f"{exc.strerror} (nightly step: {step})", exc.filename) from exc
            return result, time.perf_counter() - clock

        return run

    return wrap


def peak_rss_mb() -> int:
    """The process's peak resident memory so far, in MiB (Linux reports KiB). Beam's one default
    worker runs in this process; further workers (`--direct_num_workers`) are not counted."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


class StepLog:
    """Each step's wall time, set as `log[step] = seconds` in run order, and the process's peak
    memory when it ended: the peak only grows, so the step that raised it is the one whose figure
    jumps (the run report's `peak_rss_mb`)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.peak_rss_mb: dict[str, int] = {}

    def __setitem__(self, step: str, seconds: float) -> None:
        self.seconds[step] = seconds
        self.peak_rss_mb[step] = peak_rss_mb()


@dataclass(frozen=True)
class Landed:
    plan: manifest.IngestPlan
    manifest: pa.Table  # what earlier runs read (empty for a full refresh)
    state: dict  # the warehouse state before the run
    entries: dict = field(default_factory=dict)  # the landing entries' account (run report)

    @property
    def to_read(self) -> list[landing.LandedFile]:
        return self.plan.new + self.plan.changed


@dataclass(frozen=True)
class NightPlan:
    candidates: list[str]
    stored: dict[date, list[str]]  # published events files by date, listed once
    touched: set[date]
    rewritten: set[date]
    stored_wins: pa.Table
    recompute_from: date | None  # None: nothing to recompute
    windows_as_of: date  # the warehouse's as-of after the run: never moves back
    previous_as_of: date | None
    # engine: counter bookings over the whole history after the night, and the history horizon
    bookings: pa.Table = field(default_factory=engagement.BOOKING_SCHEMA.empty_table)
    horizon_start: date | None = None
