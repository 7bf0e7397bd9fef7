from datetime import date

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from schemas.datasets import ENGAGEMENT_DAILY, EVENTS, REJECTED
from storage.warehouse import Warehouse, WarehouseBusy


def stage(wh, run_id, dataset, partition, value):
    part = wh.staging_dir(run_id) / dataset.name / partition
    part.mkdir(parents=True)
    pq.write_table(pa.table({"v": [value]}), part / f"part-{run_id}.parquet")


def read(wh, dataset, partition):
    return sorted(
        v
        for f in (wh.dataset_dir(dataset) / partition).glob("*.parquet")
        for v in pq.read_table(f)["v"].to_pylist()
    )


def test_commit_swaps_partitions_and_replaces_the_old_content(tmp_path):
    wh = Warehouse.at(tmp_path)
    stage(wh, "r1", ENGAGEMENT_DAILY, "day=2026-11-20", 1)
    wh.mark_ready("r1", {"as_of": "2026-11-20"})
    wh.commit("r1")
    stage(wh, "r2", ENGAGEMENT_DAILY, "day=2026-11-20", 2)
    wh.mark_ready("r2", {"as_of": "2026-11-21"})
    wh.commit("r2")
    assert read(wh, ENGAGEMENT_DAILY, "day=2026-11-20") == [2]
    assert wh.read_state() == {"as_of": "2026-11-21"}
    assert not (tmp_path / "_staging" / "r2").exists()


def test_append_only_datasets_keep_earlier_files(tmp_path):
    wh = Warehouse.at(tmp_path)
    for run, value in (("r1", 1), ("r2", 2)):
        stage(wh, run, REJECTED, "ingest_date=2026-11-20", value)
        wh.keep_existing_files(run, REJECTED)
        wh.mark_ready(run, {})
        wh.commit(run)
    assert read(wh, REJECTED, "ingest_date=2026-11-20") == [1, 2]


def test_a_run_keeps_the_files_of_the_partitions_it_only_adds_to(tmp_path):
    wh = Warehouse.at(tmp_path)
    for part in ("event_date=2026-11-20", "event_date=2026-11-21"):
        stage(wh, "r1", EVENTS, part, 1)
    wh.mark_ready("r1", {})
    wh.commit("r1")
    for part in ("event_date=2026-11-20", "event_date=2026-11-21"):
        stage(wh, "r2", EVENTS, part, 2)
    wh.keep_existing_files("r2", EVENTS, [date(2026, 11, 21)])
    wh.mark_ready("r2", {})
    wh.commit("r2")
    assert read(wh, EVENTS, "event_date=2026-11-20") == [2]  # rewritten
    assert read(wh, EVENTS, "event_date=2026-11-21") == [1, 2]  # added to


def test_a_run_killed_before_ready_is_discarded_and_one_killed_mid_commit_is_finished(tmp_path):
    wh = Warehouse.at(tmp_path)
    stage(wh, "r0", ENGAGEMENT_DAILY, "day=2026-11-19", 0)
    stage(wh, "r0", ENGAGEMENT_DAILY, "day=2026-11-20", 0)
    wh.mark_ready("r0", {})
    wh.commit("r0")
    # r1: staged, marked ready, one of two partitions swapped, then "killed".
    stage(wh, "r1", ENGAGEMENT_DAILY, "day=2026-11-19", 1)
    stage(wh, "r1", ENGAGEMENT_DAILY, "day=2026-11-20", 1)
    wh.mark_ready("r1", {"as_of": "r1"})
    staged = wh.staging_dir("r1") / ENGAGEMENT_DAILY.name / "day=2026-11-19"
    wh._publish_partition(staged, wh.dataset_dir(ENGAGEMENT_DAILY) / "day=2026-11-19", "r1")
    # r2: staged but never marked ready.
    stage(wh, "r2", ENGAGEMENT_DAILY, "day=2026-11-20", 2)
    assert wh.resume_pending() == ["r1"]
    assert read(wh, ENGAGEMENT_DAILY, "day=2026-11-19") == [1]
    assert read(wh, ENGAGEMENT_DAILY, "day=2026-11-20") == [1]
    assert wh.read_state() == {"as_of": "r1"}
    assert not (tmp_path / "_staging").exists() or not any((tmp_path / "_staging").iterdir())


def test_resume_after_a_swap_whose_old_copy_was_not_yet_removed(tmp_path):
    wh = Warehouse.at(tmp_path)
    stage(wh, "r0", ENGAGEMENT_DAILY, "day=2026-11-20", 0)
    wh.mark_ready("r0", {})
    wh.commit("r0")
    stage(wh, "r1", ENGAGEMENT_DAILY, "day=2026-11-20", 1)
    wh.mark_ready("r1", {})
    from storage.warehouse import _exchange

    _exchange(
        wh.staging_dir("r1") / ENGAGEMENT_DAILY.name / "day=2026-11-20",
        wh.dataset_dir(ENGAGEMENT_DAILY) / "day=2026-11-20",
    )  # killed right after the swap
    wh.resume_pending()
    assert read(wh, ENGAGEMENT_DAILY, "day=2026-11-20") == [1]


def test_one_writer_at_a_time(tmp_path):
    wh = Warehouse.at(tmp_path)
    with wh.lock():
        with pytest.raises(WarehouseBusy, match="another microradar run"):
            with Warehouse.at(tmp_path).lock():
                pass
    with wh.lock():  # released
        pass


def test_a_snapshot_keeps_its_night_while_the_live_partition_is_swapped(tmp_path):
    """#19 item 10: the analyst database reads a snapshot (hard links), so a data commit that
    replaces a partition does not change what its views read until the next snapshot."""
    import pyarrow as pa

    from schemas.datasets import EVENTS
    from storage.parquet import write_parquet

    wh = Warehouse.at(tmp_path / "wh")
    live = wh.dataset_dir(EVENTS) / "event_date=2026-11-20"
    live.mkdir(parents=True)
    write_parquet(pa.table({"x": [1]}), live / "part-r1-0.parquet")
    snap = wh.snapshot("s1")
    assert [p.split("/wh/")[1] for p in snap.partition_files(EVENTS)] == [
        "_snapshots/s1/events/event_date=2026-11-20/part-r1-0.parquet"
    ]
    staged = tmp_path / "staged" / "event_date=2026-11-20"
    staged.mkdir(parents=True)
    write_parquet(pa.table({"x": [2, 3]}), staged / "part-r2-0.parquet")
    wh._publish_partition(staged, live, "r2")  # the next night's swap removes the old file from the live dir
    assert [p.name for p in live.iterdir()] == ["part-r2-0.parquet"]
    (old,) = snap.partition_files(EVENTS)
    assert pq.read_table(old)["x"].to_pylist() == [1]
    wh.snapshot("s2")
    wh.prune_snapshots({"s2"})
    assert [p.name for p in (wh.root / "_snapshots").iterdir()] == ["s2"]
