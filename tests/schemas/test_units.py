"""Where events are filed (SPEC section 5): day partitions from the history horizon on, year
partitions before it, except where a day partition is already stored."""

from __future__ import annotations

from datetime import date

from schemas.units import filed_day

HORIZON = date(2025, 10, 27)


def test_a_day_from_the_horizon_on_is_its_own_partition():
    assert filed_day(HORIZON, HORIZON, set()) == HORIZON
    assert filed_day(date(2026, 11, 30), HORIZON, set()) == date(2026, 11, 30)


def test_a_day_before_the_horizon_is_filed_under_its_year():
    assert filed_day(date(2025, 10, 26), HORIZON, set()) == date(2025, 1, 1)
    assert filed_day(date(2010, 6, 5), HORIZON, set()) == date(2010, 1, 1)


def test_a_stored_day_partition_keeps_its_day_once_the_horizon_has_passed_it():
    assert filed_day(date(2025, 9, 1), HORIZON, {date(2025, 9, 1)}) == date(2025, 9, 1)


def test_no_horizon_files_every_day_under_itself():
    assert filed_day(date(1999, 12, 31), None, set()) == date(1999, 12, 31)
