"""The pure rules of microradar.touched: which dates a night rewrites, where its windows start."""

from datetime import date, timedelta

from microradar.touched import TouchedDates, first_window_end, with_crowded_dates

D = date(2026, 11, 20)


def files(n: int) -> list[str]:
    return [f"part-{i}.parquet" for i in range(n)]


def test_a_touched_date_holding_max_files_or_more_is_rewritten():
    lookup = TouchedDates({D, D + timedelta(days=1), D + timedelta(days=2)}, rewritten={D + timedelta(days=2)})
    stored = {D: files(3), D + timedelta(days=1): files(2), D + timedelta(days=2): files(1),
              D - timedelta(days=1): files(9)}  # crowded, but untouched: left alone
    assert with_crowded_dates(lookup, stored, max_files=3) == {D, D + timedelta(days=2)}
    assert with_crowded_dates(lookup, stored, max_files=4) == {D + timedelta(days=2)}
    assert with_crowded_dates(TouchedDates(set()), stored, max_files=1) == set()


def test_windows_start_at_the_earliest_touched_day_or_after_the_last_as_of():
    assert first_window_end({D - timedelta(days=3), D}, D - timedelta(days=1), D) == D - timedelta(days=3)
    assert first_window_end(set(), D - timedelta(days=2), D) == D - timedelta(days=1)
    assert first_window_end(set(), None, D) == D  # a first night
    assert first_window_end(set(), D, D) is None  # a rerun: nothing to recompute
    assert first_window_end({D + timedelta(days=1)}, D, D) is None  # a day after the as-of waits


# ---- the stored-vs-candidate lookup follows dedup's order: the most complete copy wins ---------

import pyarrow.parquet as pq  # noqa: E402
import pytest  # noqa: E402

from microradar.touched import touched_event_dates  # noqa: E402
from pipelines.parse import V2_COLUMNS, parse_line  # noqa: E402
from pipelines.tables import events_table  # noqa: E402
from tests.conftest import INGEST_US, event, line  # noqa: E402


def _write(path, obj, source, v1_file=False):
    table = events_table([parse_line(line(obj), INGEST_US)], source, [1]).drop_columns(["event_date"])
    if v1_file:  # a file written before contract v2: none of its columns
        table = table.drop_columns(list(V2_COLUMNS))
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)
    return str(path)


@pytest.mark.parametrize("v1_file", [False, True])
@pytest.mark.parametrize("candidate_complete", [True, False])
def test_the_lookup_keeps_the_more_complete_copy_stored_or_new(tmp_path, candidate_complete, v1_file):
    sparse, complete = event("like", actor_id=None), event("like")
    stored_obj, candidate_obj = (sparse, complete) if candidate_complete else (complete, sparse)
    if v1_file:  # a v1 file holds v1 fields only; the candidate's v2 column counts as one more field
        stored_obj = event("post") if candidate_complete else event("post", hashtags=["a"], mentions=["b"])
        candidate_obj = event("post", language="en")
    stored = {D: [_write(tmp_path / "events" / f"event_date={D}" / "part-0.parquet", stored_obj, "old.jsonl", v1_file)]}
    candidate = _write(tmp_path / "cand" / "c.parquet", candidate_obj, "new.jsonl")
    lookup = touched_event_dates(stored, [candidate])
    if candidate_complete:
        assert lookup.rewritten == {D} and lookup.stored_wins.num_rows == 0
    else:
        assert lookup.rewritten == set()
        assert lookup.stored_wins.to_pylist() == [{"platform": "instagram", "event_id": "e1", "conflicting": True}]
