"""Compaction: a partition's file count follows its size, not the number of runs or hash buckets.

A run's Beam writers give a partition one file per hash bucket that had rows for it, and an
append-only partition (`rejected`, an `events` date a night only adds to) keeps its published files
beside the run's. Before the run is marked READY, the files of each partition it staged are merged
in its staging directory: into one file while they hold at most `target_file_bytes` together,
otherwise into groups of consecutive files of at most that size each (a single file bigger than
that is left as it is). The commit then swaps the compacted partitions in as before: compaction
adds no step to the atomic publish, and a run killed while compacting never got to READY, so the
next run discards its staging directory and the published files are untouched (the staged copies
of published files are hard links: removing a link leaves the published file).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from schemas.datasets import Dataset
from storage import faults
from storage.parquet import write_parquet, write_sorted
from storage.warehouse import Warehouse


@dataclass(frozen=True)
class Compacted:
    """What a run's compaction did (for its progress line)."""

    partitions: int = 0  # partitions whose files were merged
    files_before: int = 0
    files_after: int = 0


def plan_groups(sizes: list[tuple[str, int]], target_bytes: int) -> list[list[str]]:
    """Files (name, bytes), in order -> the groups each merged into one file: consecutive files while
    the group's bytes stay at most `target_bytes`. A group of one file is left as it is. Pure."""
    groups: list[list[str]] = []
    held = 0
    for name, size in sizes:
        if groups and held + size <= target_bytes:
            groups[-1].append(name)
            held += size
        else:
            groups.append([name])
            held = size
    return groups


def needs_compaction(sizes: list[tuple[str, int]], target_bytes: int) -> bool:
    return any(len(group) > 1 for group in plan_groups(sizes, target_bytes))


def _sizes(partition: Path) -> list[tuple[str, int]]:
    # By name: a run's id starts with its start time, so earlier runs' rows come first.
    return [(p.name, p.stat().st_size) for p in sorted(partition.glob("*.parquet"))]


def _merge(partition: Path, names: list[str], dataset: Dataset, out_name: str) -> bool:
    """Writes the rows of `names` as `out_name` (sorted by the dataset's keys, each column's doc
    kept), then removes the sources; written under a hidden name first and renamed, never through an
    existing name, which may be a hard link to a published file. Files that do not fit the dataset's
    schema as one (an older file without a column added since as non-nullable) are left as they
    are, as readers see them now (DuckDB's views read by name): False."""
    try:
        table = pa.concat_tables([pq.read_table(partition / n, schema=dataset.schema) for n in names])
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return False
    if any(not f.nullable and table[f.name].null_count for f in dataset.schema):
        return False
    tmp = partition / f".{out_name}.tmp"
    if dataset.sort_keys:
        write_sorted(table, tmp, list(dataset.sort_keys))
    else:
        write_parquet(table, tmp)
    os.replace(tmp, partition / out_name)
    faults.point("compact")
    for name in names:
        if name != out_name:
            (partition / name).unlink()
    return True


def compact_partition(partition: Path, dataset: Dataset, run_id: str, target_bytes: int) -> tuple[int, int]:
    """Merges a staged partition's files (see the module doc). Returns (files before, files after)."""
    sizes = _sizes(partition)
    groups = plan_groups(sizes, target_bytes)
    merged = [g for g in groups if len(g) > 1]
    after = len(groups)
    for i, names in enumerate(merged):
        # The run's id in the name: the commit tells a staged partition from a swapped-out one by it.
        out_name = f"part-{run_id}.parquet" if len(merged) == 1 else f"part-{run_id}-c{i:03d}.parquet"
        if not _merge(partition, names, dataset, out_name):
            after += len(names) - 1
    return len(sizes), after


def compact_staged(wh: Warehouse, run_id: str, datasets: tuple[Dataset, ...], target_bytes: int) -> Compacted:
    """Compacts every partition of `datasets` that run `run_id` staged. Call it before mark_ready."""
    partitions = files_before = files_after = 0
    for dataset in datasets:
        for partition in sorted((wh.staging_dir(run_id) / dataset.name).glob("*=*")):
            before, after = compact_partition(partition, dataset, run_id, target_bytes)
            if after < before:
                partitions += 1
                files_before += before
                files_after += after
    return Compacted(partitions, files_before, files_after)


def stage_fragmented(
    wh: Warehouse, run_id: str, datasets: tuple[Dataset, ...], target_bytes: int
) -> list[str]:
    """Published partitions the run does not stage but compaction would merge (a warehouse written
    before compaction existed): their files hard-linked into
    the run's staging directory, so the run's compaction and commit replace them with the same rows
    in fewer files. Not for a full refresh (its staged datasets replace the published ones whole).
    Returns the partitions staged, as `dataset/partition`."""
    staged = []
    for dataset in datasets:
        for published in sorted(wh.dataset_dir(dataset).glob(f"{dataset.partition}=*")):
            target = wh.staging_dir(run_id) / dataset.name / published.name
            if target.exists() or not needs_compaction(_sizes(published), target_bytes):
                continue
            target.mkdir(parents=True)
            for path in sorted(published.glob("*.parquet")):
                os.link(path, target / path.name)
            staged.append(f"{dataset.name}/{published.name}")
    return staged
