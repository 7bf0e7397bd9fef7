"""Freshness and volume checks on plain run-report dicts."""

from __future__ import annotations

from planning.checks import freshness_and_volume, recent_nights


def night(run_id: str, lines: int, started: str | None = None) -> dict:
    return {
        "run_id": run_id,
        "started_at": started or f"2026-11-{run_id}T02:00:00+00:00",
        "counts": {"lines_read": lines},
    }


def test_nothing_new_landed_warns_freshness_and_not_volume():
    (w,) = freshness_and_volume(0, 0, [night("10", 1000)], 0.5, "/data/landing")
    assert w["check"] == "freshness" and "/data/landing" in w["message"]


def test_volume_warns_below_the_share_of_the_median_only():
    previous = [night(f"{d:02}", n) for d, n in zip(range(1, 8), (900, 1000, 1100, 1000, 5000, 10, 1000))]
    assert freshness_and_volume(3, 501, previous, 0.5) == []  # median 1000: 501 is within 50%
    assert freshness_and_volume(3, 500, previous, 0.5) == []  # exactly half is not "more than" half
    (w,) = freshness_and_volume(3, 499, previous, 0.5)
    assert (w["check"], w["median_lines_read"], w["nights"]) == ("volume", 1000, 7)
    assert "50% below" in w["message"]
    assert freshness_and_volume(3, 799, previous, 0.2)[0]["check"] == "volume"


def test_without_earlier_nights_there_is_no_volume_check():
    assert freshness_and_volume(1, 1, [], 0.5) == []
    assert freshness_and_volume(1, 0, [night("01", 0)], 0.5) == []  # a median of 0 says nothing


def test_recent_nights_are_the_last_seven_by_start_without_this_run_or_backfills():
    reports = [night(f"{d:02}", d) for d in range(1, 11)]
    reports.append(
        {"run_id": "bf", "started_at": "2026-11-30T00:00:00+00:00", "from": "2026-11-01"}
    )  # a backfill
    reports.append(night("11", 11))
    kept = recent_nights(reports, 7, before_run="11")
    assert [r["run_id"] for r in kept] == ["04", "05", "06", "07", "08", "09", "10"]
    assert recent_nights(reports, 0) == []
