"""Nights land one batch at a time (late and duplicate deliveries included); the result must equal
one full run over everything, row for row, in every dataset. Also: rerun, backfill, full refresh."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from flows.backfill import backfill
from flows.nightly import nightly
from schemas.datasets import ALL_DATASETS
from tests.e2e.helpers import assert_same_warehouse, dataset_rows, land_days
from tools.generator import generate_landing

pytestmark = pytest.mark.usefixtures("prefect_harness")

RUNNER = ["--runner=FnApiRunner"]


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    root = tmp_path_factory.mktemp("gen")
    summary = generate_landing(root, profiles=12, days=30, seed=5)
    days = sorted(p.name for p in summary.landing_dir.iterdir())
    return summary, days


@pytest.fixture(scope="module")
def full_run(generated, tmp_path_factory):
    summary, _ = generated
    wh = tmp_path_factory.mktemp("full") / "wh"
    report = nightly(str(summary.landing_dir), str(wh), as_of=summary.end_date, beam_args=RUNNER)
    return wh, report


@pytest.fixture(scope="module")
def nights(generated, tmp_path_factory):
    """Four nights: most of the history, then two days, two days, the rest (late files included)."""
    summary, days = generated
    root = tmp_path_factory.mktemp("nights")
    landing, wh = root / "landing", root / "wh"
    landing.mkdir()
    batches = [days[:-6], days[-6:-4], days[-4:-2], days[-2:]]
    reports = []
    for batch in batches:
        land_days(summary.landing_dir, landing, batch)
        as_of = min(date.fromisoformat(batch[-1]), summary.end_date)
        reports.append(nightly(str(landing), str(wh), as_of=as_of, beam_args=RUNNER))
    return landing, wh, reports


def test_nights_equal_one_full_run_in_every_dataset(full_run, nights):
    assert_same_warehouse(nights[1], full_run[0])


def test_each_night_accounts_for_its_lines_and_later_nights_touch_few_dates(nights):
    _, _, reports = nights
    for r in reports:
        assert r["counts"]["identity_holds"], r["counts"]
    assert sum(r["counts"]["duplicates"] for r in reports) > 0
    first, later = reports[0], reports[1:]
    for r in later:
        # a later night touches its own days and a few late ones, never the whole history
        assert len(r["touched_event_dates"]) < len(first["touched_event_dates"]) / 2, r["touched_event_dates"]


def test_every_partition_is_one_file_and_rejected_keeps_every_reject(nights):
    """#17: file counts follow size, not runs or hash buckets. Each night's Beam run writes a
    partition from several buckets, and `rejected` and the dates of late events are added to night
    after night; compaction leaves one file per partition (these inputs are far below
    target_file_bytes), and `rejected` still holds every line the nights reported rejected."""
    _, wh, reports = nights
    partitions = [p for d in ALL_DATASETS for p in (wh / d.name).glob("*=*")]
    assert len(partitions) > 30
    assert [p for p in partitions if len(list(p.glob("*.parquet"))) > 1] == []
    assert len(dataset_rows(wh, "rejected")) == sum(r["counts"]["rejected"] for r in reports) > 0


def test_rerun_of_a_finished_night_changes_nothing(nights):
    landing, wh, reports = nights
    before = {p: p.stat().st_mtime_ns for p in wh.rglob("*.parquet")}
    report = nightly(str(landing), str(wh), as_of=date.fromisoformat(reports[-1]["as_of"]), beam_args=RUNNER)
    assert not report["recomputed"] and report["files"]["new"] == 0
    assert {p: p.stat().st_mtime_ns for p in wh.rglob("*.parquet")} == before


def test_backfill_gives_what_incremental_nights_gave(nights, generated):
    _, wh, _ = nights
    summary, _ = generated
    before = {
        name: dataset_rows(wh, name) for name in ("engagement_daily", "engagement_trailing", "profile_daily")
    }
    backfill(str(wh), summary.end_date - timedelta(days=10), summary.end_date, beam_args=RUNNER)
    for name, rows in before.items():
        assert dataset_rows(wh, name) == rows, name


def test_full_refresh_gives_what_incremental_nights_gave(nights, full_run, tmp_path):
    landing, wh, reports = nights
    import shutil

    copy = tmp_path / "wh"
    shutil.copytree(wh, copy)
    report = nightly(
        str(landing),
        str(copy),
        as_of=date.fromisoformat(reports[-1]["as_of"]),
        full_refresh=True,
        beam_args=RUNNER,
    )
    assert report["full_refresh"] and report["counts"]["identity_holds"]
    assert_same_warehouse(copy, full_run[0])
