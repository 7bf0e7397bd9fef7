"""Bucket hashing: the same bucket for the same key in every process, whichever way it is computed;
and the events partition each row is filed under."""

import subprocess
import sys
from datetime import date

import numpy as np
import pyarrow as pa

from ingest.tables import (
    EVENT_ROW_SCHEMA,
    _column_hashes,
    split_by,
    split_sorted,
    stable_buckets,
    string_hashes,
    with_filed_date,
)
from schemas.units import filed_day


def test_columns_of_few_values_hash_through_their_dictionary_to_the_same_values():
    few = pa.array(["instagram", "tiktok", None, "youtube"] * 3000)  # the dictionary path
    many = pa.array([f"evt-{i}" for i in range(12_000)])  # hashed row by row
    for column in (few, many, few.slice(5, 9000), pa.chunked_array([few, few]).combine_chunks()):
        assert np.array_equal(_column_hashes(column), string_hashes(column))
    assert string_hashes(pa.array([None]))[0] == string_hashes(pa.array([""]))[0]


def test_buckets_do_not_depend_on_the_process():
    code = (
        "import pyarrow as pa; from ingest.tables import stable_buckets; "
        "t = pa.table({'p': ['tiktok'] * 5000 + ['instagram'] * 5000, 'id': [f'u{i % 700}' for i in range(10000)]}); "
        "print(stable_buckets(t, ['p', 'id'], 7).tolist())"
    )
    runs = {
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
        for _ in range(2)
    }
    assert len(runs) == 1
    t = pa.table({"p": ["tiktok"] * 5000 + ["instagram"] * 5000, "id": [f"u{i % 700}" for i in range(10000)]})
    buckets = stable_buckets(t, ["p", "id"], 7)
    assert str(buckets.tolist()) == runs.pop().strip()
    assert set(buckets.tolist()) == set(range(7))


def test_date_keys_hash_by_their_day_number_and_spread_over_the_buckets():
    from datetime import date, timedelta

    days = [date(2026, 1, 1) + timedelta(days=i) for i in range(60)]
    t = pa.table({"event_date": pa.array(days * 3, pa.date32())})
    buckets = stable_buckets(t, ["event_date"], 4)
    by_day = {}
    for d, b in zip(t["event_date"].to_pylist(), buckets.tolist()):
        by_day.setdefault(d, set()).add(b)
    assert all(len(b) == 1 for b in by_day.values())  # a date goes to one bucket
    assert set(buckets.tolist()) == set(range(4))
    as_ints = pa.table({"d": pa.array([(d - date(1970, 1, 1)).days for d in days] * 3, pa.int32())})
    assert np.array_equal(stable_buckets(as_ints, ["d"], 4), buckets)


HORIZON = date(2025, 10, 27)


def test_the_table_version_files_each_row_as_the_rule_does():
    days = [date(2010, 6, 5), date(2025, 9, 1), date(2025, 10, 27), date(2010, 6, 5), date(2024, 2, 29)]
    table = pa.table(
        {"event_id": [str(i) for i in range(len(days))], "event_date": pa.array(days, pa.date32())}
    )
    filed = with_filed_date(table, HORIZON, frozenset({date(2025, 9, 1)}))
    assert filed["event_date"].to_pylist() == [filed_day(d, HORIZON, {date(2025, 9, 1)}) for d in days]
    assert filed["event_id"].to_pylist() == table["event_id"].to_pylist()
    assert filed.schema.field("event_date") == EVENT_ROW_SCHEMA.field("event_date")


def _chunked(rows: dict) -> pa.Table:
    """A table of two chunks, as DuckDB and concatenations hand them over."""
    table = pa.table(rows)
    half = table.num_rows // 2
    return pa.concat_tables([table.slice(0, half), table.slice(half)])


def test_split_by_gives_each_group_its_rows_in_their_order():
    table = _chunked({"day": [3, 1, 3, 2, 1, 3], "v": ["a", "b", "c", "d", "e", "f"]})
    groups = table["day"].to_numpy()
    assert [(g, rows["v"].to_pylist()) for g, rows in split_by(table, groups)] == [
        (1, ["b", "e"]),
        (2, ["d"]),
        (3, ["a", "c", "f"]),
    ]
    assert list(split_by(table.slice(0, 0), groups[:0])) == []


def test_split_sorted_orders_each_groups_rows_by_the_keys():
    days = pa.array([20_000, 19_999, 20_000, 19_999, 20_000], pa.int32()).cast(pa.date32())
    table = _chunked({"day": days, "profile": ["b", "z", "a", "c", "b"], "n": [1, 2, 3, 4, 0]})
    split = [
        (g, rows.select(["profile", "n"]).to_pylist())
        for g, rows in split_sorted(table, "day", ["profile", "n"])
    ]
    assert split == [
        (19_999, [{"profile": "c", "n": 4}, {"profile": "z", "n": 2}]),
        (20_000, [{"profile": "a", "n": 3}, {"profile": "b", "n": 0}, {"profile": "b", "n": 1}]),
    ]
