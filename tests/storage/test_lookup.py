"""The stored-vs-candidate key lookup (storage.lookup) follows dedup's order: the most complete copy wins."""

from datetime import date

import pyarrow.parquet as pq
import pytest

from ingest.parse import V2_COLUMNS, parse_line
from ingest.tables import events_table
from storage.lookup import touched_event_dates
from tests.conftest import INGEST_US, event, line

D = date(2026, 11, 20)


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
    stored = {
        D: [
            _write(
                tmp_path / "events" / f"event_date={D}" / "part-0.parquet", stored_obj, "old.jsonl", v1_file
            )
        ]
    }
    candidate = _write(tmp_path / "cand" / "c.parquet", candidate_obj, "new.jsonl")
    lookup = touched_event_dates(stored, [candidate])
    if candidate_complete:
        assert lookup.rewritten == {D} and lookup.stored_wins.num_rows == 0
    else:
        assert lookup.rewritten == set()
        assert lookup.stored_wins.to_pylist() == [
            {"platform": "instagram", "event_id": "e1", "conflicting": True}
        ]
