"""Shared fixtures: event builders and a fixed ingest moment so `future_event` is reproducible."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime

import pytest

INGEST = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
INGEST_US = int(INGEST.timestamp() * 1_000_000)


def event(event_type: str = "like", **fields) -> dict:
    """A valid event of the given type; keyword arguments override or add fields."""
    base = {
        "event_id": "e1",
        "event_type": event_type,
        "event_time": "2026-11-20T10:00:00Z",
        "platform": "instagram",
        "profile_id": "alice",
    }
    if event_type == "profile_snapshot":
        base["followers"] = 12_000
    elif event_type == "post":
        base["post_id"] = "p1"
    elif event_type == "follow":
        base["actor_id"] = "bob"
    elif event_type == "post_metrics":
        base.update(post_id="p1", likes=10)
    else:
        base.update(post_id="p1", actor_id="bob")
    base.update(fields)
    return base


def line(obj: dict) -> bytes:
    return json.dumps(obj).encode()


@pytest.fixture
def ingest_us() -> int:
    return INGEST_US


@pytest.fixture(scope="session")
def crash_scenario(tmp_path_factory):
    """Night 1 landed and committed; night 2's files landed; the uninterrupted night 2 as reference.
    Built once per session through the CLI: the kill tests (tests/e2e/test_crash.py) and the fault
    suite (tests/faults/) start each trial from a copy of night 1."""
    from tests.e2e.helpers import land_days, nightly
    from tools.generator import generate_landing

    root = tmp_path_factory.mktemp("crash")
    summary = generate_landing(root / "gen", profiles=12, days=30, seed=3)
    days = sorted(p.name for p in summary.landing_dir.iterdir())
    landing = root / "landing"
    landing.mkdir()
    land_days(summary.landing_dir, landing, days[:-3])
    night1 = root / "night1"
    assert nightly(landing, night1, summary.end_date).returncode == 0
    land_days(summary.landing_dir, landing, days[-3:])
    reference = root / "reference"
    shutil.copytree(night1, reference)
    assert nightly(landing, reference, summary.end_date).returncode == 0
    return root, landing, night1, reference, summary.end_date


@pytest.fixture(scope="session")
def prefect_harness():
    """One Prefect test server (a temporary database) for the session's flow runs, telemetry off.
    Modules running flows use it: `pytestmark = pytest.mark.usefixtures("prefect_harness")`."""
    import logging

    from prefect.testing.utilities import prefect_test_harness

    with pytest.MonkeyPatch.context() as env:
        env.setenv("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
        env.setenv("DO_NOT_TRACK", "1")
        logging.getLogger("prefect").setLevel(logging.WARNING)
        with prefect_test_harness(server_startup_timeout=90):
            yield


_shared_server_runs: list[int] = []


@pytest.fixture(scope="session", autouse=True)
def _shared_prefect_server():
    """Stops the shared Prefect server of tests/prefect_server.py at the end of the session, if a CLI
    subprocess started it; nothing starts here (a session of unit tests never pays for a server)."""
    from tests import prefect_server

    yield
    try:
        _shared_server_runs.append(prefect_server.flow_runs())
    finally:
        prefect_server.stop()


def pytest_terminal_summary(terminalreporter):
    if _shared_server_runs and _shared_server_runs[0]:
        terminalreporter.write_line(
            f"shared Prefect server: {_shared_server_runs[0]} flow runs from CLI subprocesses"
        )
