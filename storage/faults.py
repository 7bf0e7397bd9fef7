"""Fault injection for crash tests: `MICRORADAR_KILL_AT=<point>` SIGKILLs the process there.

The kill tests (tests/e2e/test_crash.py) use it to stop a real nightly run at exact points
(after ingest, after the windows, just before and inside the commit, before the SQL layer)
and check that the next run ends in the same state as an uninterrupted one. Unset, it does nothing.
"""

from __future__ import annotations

import os
import signal

ENV = "MICRORADAR_KILL_AT"


def point(name: str) -> None:
    if os.environ.get(ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
