"""Compaction (storage.compaction): a run's staged partitions are merged into one file each (or
files of about the target size), in the dataset's key order, before the atomic publish; published
files are never written through."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from schemas.datasets import ENGAGEMENT_DAILY, REJECTED
from storage import compaction
from storage.parquet import write_parquet
from storage.warehouse import Warehouse

PART = "ingest_date=2026-11-20"


@pytest.mark.parametrize(
    "sizes, target, groups",
    [
        ([("a", 1), ("b", 1), ("c", 1)], 10, [["a", "b", "c"]]),
        ([("a", 4), ("b", 4), ("c", 4)], 8, [["a", "b"], ["c"]]),
        ([("big", 20), ("a", 1), ("b", 1)], 8, [["big"], ["a", "b"]]),  # a big file is left as it is
        ([("a", 5)], 1, [["a"]]),
        ([], 8, []),
    ],
)
def test_files_are_grouped_in_order_up_to_the_target(sizes, target, groups):
    assert compaction.plan_groups(sizes, target) == groups
    assert compaction.needs_compaction(sizes, target) == any(len(g) > 1 for g in groups)


def rejects(*lines: tuple[str, int], run_id: str = "r") -> pa.Table:
    at = datetime(2026, 11, 20, tzinfo=UTC)
    return pa.Table.from_pylist(
        [
            {
                "source_file": f,
                "source_line": n,
                "raw_line": "{",
                "reason": "invalid_json",
                "detail": "x",
                "run_id": run_id,
                "ingested_at": at,
            }
            for f, n in lines
        ],
        schema=REJECTED.schema,
    )


def keys(table: pa.Table) -> list[tuple]:
    return list(zip(table["source_file"].to_pylist(), table["source_line"].to_pylist()))


def stage_files(wh: Warehouse, run_id: str, tables: list[pa.Table]):
    part = wh.staging_dir(run_id) / REJECTED.name / PART
    part.mkdir(parents=True, exist_ok=True)
    for i, table in enumerate(tables):
        write_parquet(table, part / f"part-{run_id}-{i}.parquet")
    return part


def test_a_staged_partition_becomes_one_file_in_key_order_with_the_column_docs(tmp_path):
    wh = Warehouse.at(tmp_path)
    part = stage_files(wh, "r1", [rejects(("b", 2), ("b", 1)), rejects(("a", 9)), rejects(("c", 1))])
    done = compaction.compact_staged(wh, "r1", (REJECTED,), target_bytes=1 << 20)
    assert done == compaction.Compacted(partitions=1, files_before=3, files_after=1)
    (only,) = part.glob("*.parquet")
    assert only.name == "part-r1.parquet" and not list(part.glob(".*"))
    table = pq.read_table(only)
    assert keys(table) == [("a", 9), ("b", 1), ("b", 2), ("c", 1)]
    assert table.schema.field("reason").metadata == REJECTED.schema.field("reason").metadata


def test_past_the_target_a_partition_keeps_files_of_about_that_size(tmp_path):
    wh = Warehouse.at(tmp_path)
    tables = [rejects(*((f"f{i}", n) for n in range(200))) for i in range(4)]
    part = stage_files(wh, "r1", tables)
    size = (part / "part-r1-0.parquet").stat().st_size
    compaction.compact_staged(wh, "r1", (REJECTED,), target_bytes=2 * size + size // 2)
    names = sorted(p.name for p in part.glob("*.parquet"))
    assert names == ["part-r1-c000.parquet", "part-r1-c001.parquet"]
    assert sorted(keys(pq.read_table(part))) == sorted(k for t in tables for k in keys(t))


def test_a_single_file_is_left_as_it_is(tmp_path):
    wh = Warehouse.at(tmp_path)
    part = stage_files(wh, "r1", [rejects(("a", 1))])
    inode = (part / "part-r1-0.parquet").stat().st_ino
    assert compaction.compact_staged(wh, "r1", (REJECTED,), 1 << 20) == compaction.Compacted()
    assert (part / "part-r1-0.parquet").stat().st_ino == inode


def test_rejected_keeps_every_row_night_after_night_in_one_file_and_published_files_stay_intact(tmp_path):
    wh = Warehouse.at(tmp_path)
    published = None
    for night in range(1, 4):
        run_id = f"r{night}"
        stage_files(wh, run_id, [rejects((f"n{night}", 1), run_id=run_id), rejects((f"n{night}", 2))])
        wh.keep_existing_files(run_id, REJECTED)  # the published file, hard-linked into the staging
        before = published.read_bytes() if published else None
        compaction.compact_staged(wh, run_id, (REJECTED,), 1 << 20)
        if published:  # merging the hard link left the published file as it was
            assert published.read_bytes() == before
        wh.mark_ready(run_id, {})
        wh.commit(run_id)
        (published,) = (wh.dataset_dir(REJECTED) / PART).glob("*.parquet")
        assert published.name == f"part-{run_id}.parquet"
    assert keys(pq.read_table(published)) == [(f"n{n}", line) for n in (1, 2, 3) for line in (1, 2)]


def test_a_fragmented_published_partition_is_staged_compacted_and_swapped_in(tmp_path):
    """A warehouse written before compaction: its crowded partitions converge in one night."""
    wh = Warehouse.at(tmp_path)
    crowded = wh.dataset_dir(REJECTED) / PART
    crowded.mkdir(parents=True)
    for i in range(3):
        write_parquet(rejects((f"old{i}", 1)), crowded / f"part-old{i}.parquet")
    single = wh.dataset_dir(REJECTED) / "ingest_date=2026-11-21"
    single.mkdir(parents=True)
    write_parquet(rejects(("one", 1)), single / "part-old.parquet")
    staged = compaction.stage_fragmented(wh, "r1", (REJECTED, ENGAGEMENT_DAILY), 1 << 20)
    assert staged == [f"rejected/{PART}"]  # a partition of one file is left alone
    compaction.compact_staged(wh, "r1", (REJECTED,), 1 << 20)
    assert len(list(crowded.glob("*.parquet"))) == 3  # published: untouched until the commit
    wh.mark_ready("r1", {})
    wh.commit("r1")
    assert [p.name for p in crowded.glob("*.parquet")] == ["part-r1.parquet"]
    assert keys(pq.read_table(crowded)) == [("old0", 1), ("old1", 1), ("old2", 1)]
    assert [p.name for p in single.glob("*.parquet")] == ["part-old.parquet"]


def test_a_run_failing_while_compacting_leaves_the_published_partition_and_is_discarded(
    tmp_path, monkeypatch
):
    wh = Warehouse.at(tmp_path)
    stage_files(wh, "r1", [rejects(("a", 1))])
    wh.mark_ready("r1", {})
    wh.commit("r1")
    (published,) = (wh.dataset_dir(REJECTED) / PART).glob("*.parquet")
    part = stage_files(wh, "r2", [rejects(("b", 1)), rejects(("c", 1))])
    wh.keep_existing_files("r2", REJECTED)
    monkeypatch.setenv("MICRORADAR_FAIL_AT", "compact")  # the merged file written, its sources not removed
    with pytest.raises(OSError, match="injected I/O error at compact"):
        compaction.compact_staged(wh, "r2", (REJECTED,), 1 << 20)
    monkeypatch.delenv("MICRORADAR_FAIL_AT")
    assert len(list(part.glob("*.parquet"))) == 4  # merged + three sources, never READY
    assert wh.resume_pending() == []
    assert [p.name for p in (wh.dataset_dir(REJECTED) / PART).glob("*.parquet")] == [published.name]
    assert keys(pq.read_table(published)) == [("a", 1)]


def test_files_that_do_not_fit_the_schema_as_one_are_left_as_they_are(tmp_path):
    """An older file without a column added since as non-nullable: merged, its rows would need a
    null there. The night goes on; readers read the files by name as before."""
    wh = Warehouse.at(tmp_path)
    part = stage_files(wh, "r1", [rejects(("a", 1))])
    write_parquet(rejects(("b", 1)).drop_columns(["detail"]), part / "part-r0.parquet")
    before = sorted(p.name for p in part.glob("*.parquet"))
    assert compaction.compact_staged(wh, "r1", (REJECTED,), 1 << 20) == compaction.Compacted()
    assert sorted(p.name for p in part.glob("*.parquet")) == before


def test_a_sorted_write_in_pieces_gives_the_rows_in_order_a_row_group_per_piece(tmp_path, monkeypatch):
    from storage import parquet

    monkeypatch.setattr(parquet, "SORTED_PIECE_ROWS", 3)
    table = pa.table({"k": ["c", "a", "b", "a", "d", "b", "e"], "n": [1, 2, 3, 4, 5, 6, 7]})
    parquet.write_sorted(table, tmp_path / "x.parquet", ["k", "n"])
    written = pq.ParquetFile(tmp_path / "x.parquet")
    assert written.metadata.num_row_groups == 3
    assert written.read().to_pylist() == table.sort_by([("k", "ascending"), ("n", "ascending")]).to_pylist()
