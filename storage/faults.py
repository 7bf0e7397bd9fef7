"""Fault injection for crash tests, at named points of every I/O step of publishing.

`MICRORADAR_KILL_AT=<point>` SIGKILLs the process there; `MICRORADAR_FAIL_AT=<point>` raises an
OSError there instead (an I/O error: a full disk, a vanished mount), so the failure path runs.
Unset, `point` does nothing. `POINTS` lists every point in the order a night reaches them; the
fault suite (tests/faults/) injects each and checks that the previous state stays readable and
that the next run ends identical to an uninterrupted one.
"""

from __future__ import annotations

import errno
import os
import signal

ENV = "MICRORADAR_KILL_AT"
FAIL_ENV = "MICRORADAR_FAIL_AT"

# A night makes three commits (Warehouse.commit): its data, the SQL layer's profile_daily ("sql")
# and the analyst database ("db"); each step of each is a point, named after the commit's kind.
_STATE = ("state_write", "state_fsync", "state_rename", "staging_removed")
POINTS = (
    "after_ingest",
    "after_windows",
    "compact",  # a partition's files merged in the staging dir, its sources not yet removed
    "stage_manifest",
    "ready_write",
    "before_commit",
    *(f"data_{s}" for s in ("commit_start", "swap", "mid_commit", "manifest_rename", *_STATE)),
    "before_sql",
    "sql_staged",
    *(f"sql_{s}" for s in ("commit_start", "swap", "mid_commit", *_STATE)),
    "db_staged",
    *(f"db_{s}" for s in ("commit_start", "duckdb_rename", *_STATE)),
)


class InjectedFault(OSError):
    """The error MICRORADAR_FAIL_AT raises."""


def point(name: str) -> None:
    if os.environ.get(ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
    if os.environ.get(FAIL_ENV) == name:
        raise InjectedFault(errno.EIO, f"injected I/O error at {name}")
