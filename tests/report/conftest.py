"""A small real warehouse for the report's end-to-end tests: generated days, one nightly run."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def radar_warehouse(tmp_path_factory, prefect_harness):
    """40 profiles over 35 days (enough for 28-day growth on the last week), ingested by the nightly flow."""
    from flows.nightly import nightly
    from tools.generator import generate_landing

    root = tmp_path_factory.mktemp("radar")
    summary = generate_landing(root, profiles=40, days=35, seed=7)
    wh = root / "warehouse"
    run = nightly(
        str(summary.landing_dir), str(wh), as_of=summary.end_date, beam_args=["--runner=FnApiRunner"]
    )
    return wh, run
