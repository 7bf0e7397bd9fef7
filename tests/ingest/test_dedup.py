import pyarrow as pa
import pytest

from ingest.dedup import DedupStats, deduplicate
from ingest.parse import parse_line
from ingest.tables import IS_NEW, events_table
from tests.conftest import INGEST_US, event, line


def table_of(copies, is_new=True):
    """copies: (source_file, line_no, event dict)."""
    tables = [
        events_table([parse_line(line(obj), INGEST_US)], source, [number]) for source, number, obj in copies
    ]
    t = pa.concat_tables(tables)
    return t.append_column(IS_NEW, pa.array([is_new] * t.num_rows))


def kept_rows(table):
    return sorted((r["platform"], r["event_id"], r["source_file"]) for r in table.to_pylist())


def test_an_exact_duplicate_in_another_file_counts_once():
    kept, stats = deduplicate(table_of([("day1/a.jsonl", 1, event()), ("day2/b.jsonl", 7, event())]))
    assert kept.num_rows == 1
    assert kept["source_file"].to_pylist() == ["day1/a.jsonl"]
    assert stats == DedupStats(accepted=1, duplicates=1, conflicting_duplicates=0)
    assert IS_NEW not in kept.column_names


def test_the_same_event_id_on_two_platforms_is_two_events():
    kept, stats = deduplicate(table_of([("a", 1, event()), ("a", 2, event(platform="tiktok"))]))
    assert kept_rows(kept) == [("instagram", "e1", "a"), ("tiktok", "e1", "a")]
    assert stats == DedupStats(accepted=2)


def test_conflicting_copies_are_counted_and_the_choice_ignores_delivery_order():
    a = ("a.jsonl", 1, event(event_time="2026-11-20T10:00:00Z"))
    b = ("b.jsonl", 1, event(event_time="2026-11-20T10:00:05Z"))
    forward, stats = deduplicate(table_of([a, b]))
    backward, _ = deduplicate(table_of([b, a]))
    assert forward.to_pylist() == backward.to_pylist()
    assert stats == DedupStats(accepted=1, duplicates=1, conflicting_duplicates=1)


@pytest.mark.parametrize("new_first", [True, False])
def test_incremental_runs_keep_the_same_copy_as_one_full_run(new_first):
    a = ("night1.jsonl", 3, event(event_time="2026-11-20T10:00:00Z"))
    b = ("night2.jsonl", 1, event(event_time="2026-11-20T10:00:05Z"))
    full, _ = deduplicate(table_of([a, b]))
    first, second = (a, b) if new_first else (b, a)
    night1, _ = deduplicate(table_of([first]))
    stored = night1.append_column(IS_NEW, pa.array([False] * night1.num_rows))
    night2, stats = deduplicate(pa.concat_tables([stored, table_of([second])]))
    assert night2.to_pylist() == full.to_pylist()
    # The second delivery is a duplicate, not a new event, whichever copy is kept.
    assert stats == DedupStats(accepted=0, duplicates=1, conflicting_duplicates=1)


def test_stored_rows_alone_count_nothing():
    kept, _ = deduplicate(table_of([("a", 1, event())]))
    stored = kept.append_column(IS_NEW, pa.array([False]))
    again, stats = deduplicate(stored)
    assert again.num_rows == 1
    assert stats == DedupStats()


# ---- the most complete copy wins (contract v2) ----------------------------------------------

from ingest.dedup import FIELDS_SET_COLUMNS, fields_set  # noqa: E402


@pytest.mark.parametrize(
    "sparse, complete",
    [
        (event("like", actor_id=None), event("like")),
        (
            event("profile_snapshot", followers=10),
            event("profile_snapshot", followers=10, handle="al", country="US"),
        ),
        (event("post_metrics", likes=5), event("post_metrics", likes=5, views=90)),
        (event("post"), event("post", hashtags=["a"], language="en")),
    ],
    ids=["actor", "snapshot", "metrics", "post"],
)
@pytest.mark.parametrize("order", ["sparse_first", "complete_first"])
def test_the_copy_with_the_most_fields_set_wins_whatever_its_hash_or_file(sparse, complete, order):
    copies = [("a.jsonl", 1, sparse), ("z.jsonl", 9, complete)]
    kept, stats = deduplicate(table_of(copies if order == "sparse_first" else copies[::-1]))
    assert kept["source_file"].to_pylist() == ["z.jsonl"]
    assert stats == DedupStats(accepted=1, duplicates=1, conflicting_duplicates=1)


def test_equally_complete_copies_tie_on_the_smallest_hash():
    a = event("post_metrics", likes=5)
    b = event("post_metrics", likes=6)
    kept, _ = deduplicate(table_of([("a.jsonl", 1, a), ("b.jsonl", 1, b)]))
    hashes = sorted(parse_line(line(o), INGEST_US)[-1] for o in (a, b))
    assert kept["payload_hash"].to_pylist() == [hashes[0]]


@pytest.mark.parametrize("stored_is_complete", [True, False])
def test_a_more_complete_late_copy_replaces_the_stored_one_and_never_the_reverse(stored_is_complete):
    sparse = ("night1.jsonl", 1, event("like", actor_id=None))
    complete = ("night2.jsonl", 1, event("like"))
    first, second = (complete, sparse) if stored_is_complete else (sparse, complete)
    night1, _ = deduplicate(table_of([first]))
    stored = night1.append_column(IS_NEW, pa.array([False]))
    night2, stats = deduplicate(pa.concat_tables([stored, table_of([second])]))
    assert night2["actor_id"].to_pylist() == ["bob"]
    assert stats == DedupStats(accepted=0, duplicates=1, conflicting_duplicates=1)


def test_fields_set_counts_the_nullable_payload_columns():
    t = table_of([("a", 1, event("like", actor_id=None)), ("a", 2, event("post_metrics", likes=1, views=2))])
    assert fields_set(t).to_pylist() == [1, 3]  # post_id | post_id, likes, views
    assert "payload_hash" not in FIELDS_SET_COLUMNS and "source_file" not in FIELDS_SET_COLUMNS
