"""Publishing the stream's panes: partitions rewritten per pane and swapped in whole, dead
letters insert-if-absent, and which window rows a run may write (replay completeness, stop horizon)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import apache_beam as beam
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from apache_beam.coders import PickleCoder
from apache_beam.metrics import Metrics
from apache_beam.transforms.userstate import ReadModifyWriteStateSpec, TimerSpec, on_timer
from apache_beam.transforms.window import GlobalWindows
from apache_beam.typehints import Any, Tuple
from apache_beam.utils.timestamp import Timestamp

from schemas.datasets import ENGAGEMENT_DAILY, ENGAGEMENT_TRAILING, REJECTED, STREAM_TOO_LATE
from schemas.units import DAY_S, US_PER_DAY, US_PER_S, day_number
from storage import stream_posts
from storage.warehouse import replace_partition

TOO_LATE_DATASET = STREAM_TOO_LATE.name  # same columns as `rejected`; reason is always `too_late`

# --- sink --------------------------------------------------------------------------------------


def _read_partition(directory: Path, schema: pa.Schema) -> pa.Table:
    files = sorted(directory.glob("*.parquet")) if directory.is_dir() else []
    if not files:
        return schema.empty_table()
    return pa.concat_tables([pq.read_table(f, schema=schema) for f in files])


def _key_mask(table: pa.Table, schema: pa.Schema, columns: tuple[str, ...], values: tuple):
    """Boolean mask of the rows of `table` whose `columns` equal `values` (nulls never match)."""
    same = None
    for c, v in zip(columns, values):
        eq = pc.equal(table[c], pa.scalar(v, schema.field(c).type))
        same = eq if same is None else pc.and_(same, eq)
    return pc.fill_null(same, False)


class UpsertPartitionFn(beam.DoFn):
    """((dataset, partition value), row dict) -> the partition rewritten with the row in place of the
    row with the same key, swapped in atomically. With `insert_only` (dead letters) a row whose key
    is already in the partition is left alone instead: a line replayed after a restart keeps its
    first arrival stamp, hence its partition, and is not recorded twice.

    Stateful so that Beam runs one element of a partition at a time (no lost update between two
    panes of one partition). A pane older than the one already written for its row is ignored
    (panes of one window can reach the sink out of order on a distributed runner); that memory
    is dropped by a timer once the partition's windows are past the allowed lateness."""

    PANES = ReadModifyWriteStateSpec("pane_index_by_row", PickleCoder())
    EXPIRE = TimerSpec("expire", beam.TimeDomain.WATERMARK)

    def __init__(
        self,
        warehouse_dir: str,
        dataset_name: str,
        partition: str,
        schema: pa.Schema,
        key_columns: tuple[str, ...],
        allowed_lateness_s: int | None,
        insert_only: bool = False,
    ):
        self.warehouse_dir = warehouse_dir
        self.insert_only = insert_only
        self.dataset_name = dataset_name
        self.partition = partition
        self.schema = schema
        self.key_columns = key_columns
        self.allowed_lateness_s = allowed_lateness_s
        self.writes = Metrics.counter("microradar", f"stream_writes_{dataset_name}")

    def process(self, keyed, panes=beam.DoFn.StateParam(PANES), expire=beam.DoFn.TimerParam(EXPIRE)):
        (_, value), row = keyed
        root = Path(self.warehouse_dir)
        target = root / self.dataset_name / f"{self.partition}={value}"
        current = _read_partition(target, self.schema)
        new = pa.Table.from_pylist([{c: row[c] for c in self.schema.names}], schema=self.schema)
        if self.insert_only:
            row_key = tuple(row[c] for c in self.key_columns)
            if (
                current.num_rows
                and pc.any(_key_mask(current, self.schema, self.key_columns, row_key)).as_py()
            ):
                return
        elif self.key_columns:
            row_key = tuple(row[c] for c in self.key_columns)
            written = panes.read() or {}
            if written.get(row_key, -1) > row["pane_index"]:
                return
            written[row_key] = row["pane_index"]
            panes.write(written)
            if self.allowed_lateness_s is not None:
                end_s = day_number(date.fromisoformat(value)) * DAY_S + DAY_S
                expire.set(Timestamp(end_s + self.allowed_lateness_s + DAY_S))
            if current.num_rows:
                current = current.filter(
                    pc.invert(_key_mask(current, self.schema, self.key_columns, row_key))
                )
        table = pa.concat_tables([current, new])
        if self.key_columns:
            table = table.sort_by([(c, "ascending") for c in self.key_columns])
        path = replace_partition(table, target, root / "_staging")
        self.writes.inc()
        yield (self.dataset_name, value, str(path), table.num_rows)

    @on_timer(EXPIRE)
    def forget(self, panes=beam.DoFn.StateParam(PANES)):
        panes.clear()


class WriteStreamPartitions(beam.PTransform):
    """Row dicts carrying the partition column as an ISO date -> Hive partitions under the warehouse.

    Design: a pane of one profile's window replaces that profile's row (key_columns) in its
    partition; the partition is rewritten as one new uniquely named file and swapped in, so a
    partition always holds exactly one file and every reader sees whole partitions. The cost is
    a partition rewrite per pane (fine at streaming rates of a single machine)."""

    def __init__(
        self,
        warehouse_dir: str,
        dataset,
        key_columns: tuple[str, ...],
        allowed_lateness_s: int | None = None,
        schema: pa.Schema | None = None,
        dataset_name: str | None = None,
        insert_only: bool = False,
    ):
        super().__init__()
        self.fn = UpsertPartitionFn(
            str(Path(warehouse_dir).resolve()),
            dataset_name or dataset.name,
            dataset.partition,
            schema or dataset.schema,
            key_columns,
            allowed_lateness_s,
            insert_only,
        )
        self.partition = dataset.partition
        self.dataset_name = dataset_name or dataset.name

    def expand(self, rows):
        partition, name = self.partition, self.dataset_name
        return (
            rows
            | "Rewindow" >> beam.WindowInto(GlobalWindows())
            | "KeyByPartition"
            >> beam.Map(lambda r: ((name, r[partition]), r)).with_output_types(Tuple[Tuple[str, str], Any])
            | "Upsert" >> beam.ParDo(self.fn)
        )


def dead_letter_row(item: tuple, run_id: str) -> dict:
    """A dead-letter tuple -> a `rejected` row dict with its `ingest_date` partition."""
    source_file, number, raw_line, reason, detail, ingest_us = item
    ingested = datetime.fromtimestamp(ingest_us / US_PER_S, tz=UTC)
    return {
        "source_file": source_file,
        "source_line": number,
        "raw_line": raw_line,
        "reason": reason,
        "detail": detail,
        "run_id": run_id,
        "ingested_at": ingested,
        "ingest_date": ingested.date().isoformat(),
    }


# watermark; the sink reads it. Process-local, like the TestStream service that feeds the poller.
_HORIZONS: dict[str, int] = {}


def set_horizon(key: str, horizon_us: int) -> None:
    if key:
        _HORIZONS[key] = horizon_us


def ends_by_horizon(row: dict, key: str) -> bool:
    """False for a window row (daily `day` or trailing `window_end`) ending after the stop horizon."""
    horizon = _HORIZONS.get(key)
    if horizon is None:
        return True
    last_day = row["day"] if "day" in row else row["window_end"]
    end_us = (day_number(date.fromisoformat(last_day)) + 1) * US_PER_DAY
    return end_us <= horizon


def _starts_from(row: dict, complete_from_day: int) -> bool:
    """Does the window of this row (daily `day`, or trailing `window_end` and `window_days`) start
    on or after `complete_from_day`?"""
    if "day" in row:
        first_day = day_number(date.fromisoformat(row["day"]))
    else:
        first_day = day_number(date.fromisoformat(row["window_end"])) - row["window_days"] + 1
    return first_day >= complete_from_day


class StorePostStateFn(beam.DoFn):
    """storage.stream_posts rows -> one appended file per bundle (the per-post counter state a
    restart is seeded with; pipelines/stream/counters.py), folded into one once there are
    `compact_after` files: a stream that runs for days adds a file per poll."""

    def __init__(self, warehouse_dir: str, compact_after: int = 64):
        self.warehouse_dir = warehouse_dir
        self.compact_after = compact_after
        self.rows: list[dict] = []

    def start_bundle(self):
        self.rows = []

    def process(self, row):
        self.rows.append(row)

    def finish_bundle(self):
        if stream_posts.append(self.warehouse_dir, self.rows) is not None:
            if stream_posts.file_count(self.warehouse_dir) >= self.compact_after:
                stream_posts.compact(self.warehouse_dir)
        self.rows = []


class WriteStreamOutputs(beam.PTransform):
    """StreamEngagement's outputs -> engagement_daily, engagement_trailing, rejected and
    stream_too_late partitions under the warehouse root, and the per-post counter state beside
    the stream manifest (storage.stream_posts).

    `complete_from_us` (a restart that did not replay every file earlier runs consumed): rows of
    windows starting before it are not written; the replay may hold only part of their events
    (`stream_manifest.complete_from_us`), so their rows stay as the earlier run wrote them.
    `horizon_key`: once the stream stops (LandingPoller), window rows ending after its horizon
    (the last event time seen, the wall clock) are dropped: no partition for a window that has
    not ended."""

    def __init__(
        self,
        warehouse_dir: str,
        allowed_lateness_s: int,
        run_id: str,
        complete_from_us: int | None = None,
        horizon_key: str = "",
    ):
        super().__init__()
        self.warehouse_dir = warehouse_dir
        self.allowed_lateness_s = allowed_lateness_s
        self.run_id = run_id
        self.complete_from_us = complete_from_us
        self.horizon_key = horizon_key

    def _writable(self, rows, label: str):
        if self.complete_from_us is not None:
            first_day = -(-self.complete_from_us // US_PER_DAY)  # the first whole day after it
            rows = rows | f"Complete{label}" >> beam.Filter(_starts_from, first_day)
        if self.horizon_key:
            rows = rows | f"Ended{label}" >> beam.Filter(ends_by_horizon, self.horizon_key)
        return rows

    def expand(self, outputs):
        wh, lateness, run_id = self.warehouse_dir, self.allowed_lateness_s, self.run_id
        written = [
            self._writable(outputs["daily"], "Daily")
            | "WriteDaily"
            >> WriteStreamPartitions(wh, ENGAGEMENT_DAILY, ("platform", "profile_id"), lateness)
        ]
        trailing = [v for k, v in sorted(outputs.items()) if k.startswith("trailing_")]
        if trailing:
            written.append(
                self._writable(trailing | "AllTrailing" >> beam.Flatten(), "Trailing")
                | "WriteTrailing"
                >> WriteStreamPartitions(
                    wh, ENGAGEMENT_TRAILING, ("platform", "profile_id", "window_days"), lateness
                )
            )
        if "post_state" in outputs:
            _ = outputs["post_state"] | "StorePostState" >> beam.ParDo(StorePostStateFn(wh))
        for tag, name in (("rejected", REJECTED.name), ("too_late", TOO_LATE_DATASET)):
            written.append(
                outputs[tag]
                | f"{tag}Rows" >> beam.Map(dead_letter_row, run_id)
                | f"Write{tag}"
                >> WriteStreamPartitions(
                    wh, REJECTED, ("source_file", "source_line"), None, dataset_name=name, insert_only=True
                )
            )
        return written | "Written" >> beam.Flatten()
