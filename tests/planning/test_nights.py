"""The pure rules of planning.nights: which dates a night rewrites, where its windows start."""

from datetime import date, timedelta

from planning.nights import plan_recompute_from, with_crowded_dates

D = date(2026, 11, 20)


def files(n: int) -> list[str]:
    return [f"part-{i}.parquet" for i in range(n)]


def test_a_touched_date_holding_max_files_or_more_is_rewritten():
    touched, rewritten = {D, D + timedelta(days=1), D + timedelta(days=2)}, {D + timedelta(days=2)}
    stored = {D: files(3), D + timedelta(days=1): files(2), D + timedelta(days=2): files(1),
              D - timedelta(days=1): files(9)}  # crowded, but untouched: left alone
    assert with_crowded_dates(touched, rewritten, stored, max_files=3) == {D, D + timedelta(days=2)}
    assert with_crowded_dates(touched, rewritten, stored, max_files=4) == {D + timedelta(days=2)}
    assert with_crowded_dates(set(), set(), stored, max_files=1) == set()


def test_windows_start_at_the_earliest_touched_day_or_after_the_last_as_of():
    assert plan_recompute_from({D - timedelta(days=3), D}, D - timedelta(days=1), D) == D - timedelta(days=3)
    assert plan_recompute_from(set(), D - timedelta(days=2), D) == D - timedelta(days=1)
    assert plan_recompute_from(set(), None, D) == D  # a first night
    assert plan_recompute_from(set(), D, D) is None  # a rerun: nothing to recompute
    assert plan_recompute_from({D + timedelta(days=1)}, D, D) is None  # a day after the as-of waits
