"""Reading stored Parquet back into a run: events, daily rows, engagers.

A read element is a group of files (several partitions' small files, or a few big ones):
per-element costs of the runner and of the shuffle spill dominate small files, and a partition
holds one file per bucket of each run that wrote it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from itertools import groupby
from pathlib import PurePosixPath

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from ingest import tables
from pipelines import engagement
from schemas.datasets import ENGAGEMENT_DAILY
from schemas.units import US_PER_DAY
from storage.duck import connect, literal


def file_groups(paths: list[str], max_bytes: int = 32 << 20, max_files: int = 64) -> list[tuple[str, ...]]:
    """Paths in order (a partition's files together), grouped; a group closes at `max_bytes` or
    `max_files`, so big files still spread over the workers one by one."""
    paths = sorted(paths)
    groups, group, size = [], [], 0
    for path, file_size in zip(paths, _file_sizes(paths) if paths else []):
        group.append(path)
        size += file_size
        if size >= max_bytes or len(group) >= max_files:
            groups.append(tuple(group))
            group, size = [], 0
    if group:
        groups.append(tuple(group))
    return groups


def _file_sizes(paths: list[str]) -> list[int]:
    """Sizes of files on one file system, in one call through Arrow (which reads them later):
    local paths and URIs alike, without a glob per path."""
    fs, _ = pafs.FileSystem.from_uri(paths[0])
    infos = fs.get_file_info([p.split("://", 1)[1] if "://" in p else p for p in paths])
    missing = [i.path for i in infos if i.type != pafs.FileType.File]
    if missing:
        raise FileNotFoundError(f"stored files vanished: {', '.join(missing[:5])}")
    return [i.size for i in infos]


def _dataset(paths, schema: pa.Schema | None = None) -> ds.Dataset:
    """A group of files as one Arrow dataset: its fragments are read in parallel, several times
    faster than one file after another when files are small (Arrow resolves local paths and URIs).
    With `schema`, a column a file lacks (written before it was added) reads as null."""
    return ds.dataset(list(paths), format="parquet", schema=schema)


def partition_day(path: str) -> date:
    """The date of a hive partition directory `name=YYYY-MM-DD` holding `path`."""
    return date.fromisoformat(PurePosixPath(path).parent.name.split("=", 1)[1])


class EventFiles:
    """`events` files (or candidates) -> event tables of at most `batch_rows` (or just `columns`),
    with the partition day restored from event_time."""

    def __init__(self, columns: list[str] | None = None, batch_rows: int = 250_000):
        self.columns = columns
        self.batch_rows = batch_rows

    def read(self, paths) -> Iterator[pa.Table]:
        schema = tables.EVENTS.data_schema
        if self.columns:
            schema = pa.schema([schema.field(c) for c in self.columns])
        pending, rows = [], 0
        # the full schema: events files written before contract v2 lack its columns (read as null)
        for batch in _dataset(paths, tables.EVENTS.data_schema).to_batches(
            columns=schema.names, batch_size=self.batch_rows
        ):
            pending.append(pa.Table.from_batches([batch]).cast(schema))
            rows += batch.num_rows
            if rows >= self.batch_rows:
                yield tables.with_event_date(tables.concat(pending))
                pending, rows = [], 0
        if rows:
            yield tables.with_event_date(tables.concat(pending))


class TableFiles:
    """Parquet files a run staged for itself (e.g. counter bookings) -> their tables, as written."""

    def read(self, paths) -> Iterator[pa.Table]:
        for path in paths:
            table = pq.read_table(path)
            if table.num_rows:
                yield table


class DailyFiles:
    """`engagement_daily` files -> internal daily rows, one table (the day comes from each
    partition's path)."""

    def read(self, paths) -> Iterator[pa.Table]:
        days = []
        for _, same_dir in groupby(sorted(paths), key=lambda p: PurePosixPath(p).parent):
            files = list(same_dir)
            rows = _dataset(files, ENGAGEMENT_DAILY.data_schema).to_table()  # older files: new metrics null
            day = pa.repeat(pa.scalar(partition_day(files[0]), pa.date32()), rows.num_rows)
            days.append(rows.append_column("day", day))
        rows = tables.concat(days)
        if rows is not None and rows.num_rows:
            yield engagement.from_daily_dataset(rows)


class EngagerFiles:
    """`events` files -> their distinct (platform, profile_id, day, engager) in [first_day, as_of_day]:
    all the trailing windows need from a day whose daily rows are stored already. Days before
    `collapse_before` keep each (profile, engager)'s latest one: a window ending on or after
    `collapse_before` holds an earlier day of that engager exactly when it holds the latest, so
    those windows count the same from fewer rows.

    DuckDB reads and groups them: on these string keys it takes under half the time of Arrow's
    single-threaded group-by (the largest context a night reads), with its own threads, so a
    group may be big (GROUP_LIMITS): each group collapses apart. An engager is an actor other
    than the profile, as in engagement._audience."""

    # file_groups limits: one DuckDB query over a month of a small warehouse's events
    GROUP_LIMITS = {"max_bytes": 256 << 20, "max_files": 1024}

    def __init__(self, as_of_day: int, first_day: int | None, collapse_before: int | None = None):
        self.as_of_day = as_of_day
        self.first_day = first_day
        self.collapse_before = collapse_before

    def sql(self) -> str:
        lowest = -(2**31) if self.first_day is None else self.first_day
        collapse = lowest if self.collapse_before is None else self.collapse_before
        return f"""
            with engaged as (
                select platform, profile_id, cast(epoch_us(event_time) // {US_PER_DAY} as integer) as day,
                    actor_id as engager
                from read_parquet($files)
                where actor_id != profile_id and event_type in ('like', 'comment', 'share', 'save')
            )
            select platform, profile_id, max(day) as day, engager from engaged
            where day >= {lowest} and day < {collapse} and day <= {self.as_of_day}
            group by platform, profile_id, engager
            union all
            select distinct platform, profile_id, day, engager from engaged
            where day >= {max(lowest, collapse)} and day <= {self.as_of_day}
        """

    def read(self, paths) -> Iterator[pa.Table]:
        con = connect()
        try:
            engagers = con.sql(self.sql(), params={"files": [literal(p) for p in paths]}).to_arrow_table()
        finally:
            con.close()
        if engagers.num_rows:
            yield engagers.cast(engagement.ENGAGER_SCHEMA)
