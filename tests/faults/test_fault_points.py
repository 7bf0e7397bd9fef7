"""The fault-injection suite (issue #19): a real nightly run (the CLI, in a subprocess) is stopped at
each I/O step of publishing (storage.faults.POINTS: each write, rename, fsync, commit step and the
SQL refresh), by SIGKILL and by an injected I/O error. After each, the previous state is readable
(the analyst database answers for every view, pyarrow reads every dataset), a failed run left no
staging of its own but a READY one, and the next run ends identical to an uninterrupted run; when
it finished the interrupted run's commit, its report carries that run's figures.

Every trial is two runs of the CLI, so `make test` runs one trial per phase (DEFAULT_TRIALS);
MICRORADAR_FAULTS=all runs every point in both modes (60 trials)."""

from __future__ import annotations

import json
import os
import shutil
import signal
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from schemas.datasets import ALL_DATASETS
from storage import sql_layer
from storage.faults import POINTS
from tests.e2e.helpers import assert_same_warehouse, dataset_rows, nightly

# One trial per phase of a night, alternating the two modes.
DEFAULT_TRIALS = [
    ("kill", "sql_mid_commit"),
    ("kill", "data_mid_commit"),
    ("fail", "data_state_fsync"),
    ("fail", "stage_manifest"),
    ("fail", "db_duckdb_rename"),
    ("kill", "ready_write"),
    ("kill", "compact"),
]
ALL_TRIALS = [(mode, point) for point in POINTS for mode in ("kill", "fail")]
TRIALS = ALL_TRIALS if os.environ.get("MICRORADAR_FAULTS") == "all" else DEFAULT_TRIALS
# Points after the data run is marked READY: the next run finishes that commit and reports its figures.
AFTER_READY = {p for p in POINTS if p.startswith("data_")} | {"before_commit"}


def assert_readable(wh: Path) -> None:
    """The previous (or the new) state reads: every view of the analyst database answers, and
    pyarrow reads every published file of every dataset."""
    con = sql_layer.open_analyst_db(wh / "microradar.duckdb")  # views relative to the warehouse folder
    try:
        for dataset in ALL_DATASETS:
            con.execute(f"select count(*) from {dataset.name}").fetchone()
        con.execute("select count(*) from rising_micro_influencers").fetchone()
    finally:
        con.close()
    for dataset in ALL_DATASETS:
        for path in sorted((wh / dataset.name).glob("*=*/*.parquet")):
            pq.read_table(path)


def analyst_counts(wh: Path) -> dict[str, int]:
    """Rows per dataset as a session of the analyst database sees them."""
    con = sql_layer.open_analyst_db(wh / "microradar.duckdb")
    try:
        return {d.name: con.execute(f"select count(*) from {d.name}").fetchone()[0] for d in ALL_DATASETS}
    finally:
        con.close()


def analyst_as_of(wh: Path):
    con = sql_layer.open_analyst_db(wh / "microradar.duckdb")
    try:
        return con.execute("select as_of from run_params").fetchone()
    finally:
        con.close()


def test_the_suite_knows_every_point():
    assert len(set(POINTS)) == len(POINTS) == 30
    assert set(p for _, p in DEFAULT_TRIALS) <= set(POINTS)


@pytest.mark.parametrize("mode,point", TRIALS, ids=[f"{m}-{p}" for m, p in TRIALS])
def test_a_fault_at_each_point_keeps_the_previous_state_and_the_next_run_completes_it(
    crash_scenario, mode, point, tmp_path
):
    _, landing, night1, reference, as_of = crash_scenario
    wh = tmp_path / "wh"
    shutil.copytree(night1, wh)
    if mode == "kill":
        hit = nightly(landing, wh, as_of, kill_at=point)
        assert hit.returncode == -signal.SIGKILL, (point, hit.stderr[-2000:])
    else:
        hit = nightly(landing, wh, as_of, fail_at=point)
        assert hit.returncode == 1, (point, hit.stderr[-2000:])
        assert len(hit.stderr.strip().splitlines()) == 1 and f"injected I/O error at {point}" in hit.stderr
        # A failed run removed what it staged, unless it got to READY (the next run finishes that).
        for staged in (wh / "_staging").glob("*") if (wh / "_staging").exists() else []:
            assert (staged / "READY").exists(), staged
    assert_readable(wh)
    # A session of the analyst database sees one night across datasets: the previous one until the
    # new analyst database is committed, then the new one (never new engagement beside old profile_daily).
    assert analyst_counts(wh) in (analyst_counts(night1), analyst_counts(reference)), point
    if point in (
        "after_ingest",
        "after_windows",
        "compact",
        "stage_manifest",
        "ready_write",
    ):  # nothing committed yet
        assert dataset_rows(wh, "events") == dataset_rows(night1, "events")

    rerun = nightly(landing, wh, as_of)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert_same_warehouse(wh, reference)
    assert_readable(wh)
    assert not (wh / "_staging").exists() or not any((wh / "_staging").iterdir())
    assert analyst_as_of(wh) == analyst_as_of(reference)  # the analyst database is the new night's
    report = json.loads((wh / "_meta" / "last_run.json").read_text())
    if point in AFTER_READY:  # the interrupted run's figures are in the report of the run that finished it
        expected = json.loads((reference / "_meta" / "last_run.json").read_text())["counts"]
        (figures,) = report["resumed"].values()
        assert figures["counts"] == expected
