"""Composite Beam transforms of the batch pipeline, one per domain idea.

Elements are Arrow tables (one per block of lines, then one per hash bucket), never single
events: Beam still distributes, retries and scales the work, at columnar cost per event. The
shuffles group spill-file paths, not rows (pipelines.spill), and outputs are written from each
bucket without a further shuffle.
"""

from __future__ import annotations

import hashlib

import apache_beam as beam
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics

from ingest import dedup, landing, parse, parse_block, tables
from pipelines import engagement, spill
from storage.parquet import write_parquet

STATS = "stats"
REJECTED = "rejected"
DAILY = "daily"
TRAILING = "trailing"


class UnreadableLandingFile(RuntimeError):
    """A landed file that cannot be read to its end. The run fails before committing anything."""


class ParseFileFn(beam.DoFn):
    """One landed file -> event tables (main, one per block of lines), rejected tables and one line-count dict."""

    def __init__(self, ingest_us: int, run_id: str, block_bytes: int, min_event_us: int | None = None):
        self.ingest_us = ingest_us
        self.min_event_us = min_event_us  # None: Config.min_event_time
        self.run_id = run_id
        self.block_bytes = block_bytes
        self.rejected_lines = Metrics.counter("microradar", "rejected_lines")

    def process(self, landed: landing.LandedFile):
        try:
            yield from self._parse(landed)
        except (
            OSError,
            EOFError,
        ) as exc:  # a truncated or corrupt .gz, a vanished file: fail the run, name it
            raise UnreadableLandingFile(f"unreadable landing file {landed.relpath}: {exc}") from exc

    def _parse(self, landed: landing.LandedFile):
        rejects = []
        counts = {"lines_read": 0, "blank": 0, "valid": 0, "rejected": {}}
        try:
            for first, lines in landing.iter_blocks(landed.path, self.block_bytes):
                block = parse_block.parse_block(
                    lines, first, self.ingest_us, landed.relpath, self.min_event_us
                )
                counts["lines_read"] += len(lines)
                counts["blank"] += block.blank
                counts["valid"] += block.events.num_rows
                for number, raw, reject in block.rejects:
                    rejects.append(
                        (landed.relpath, number, parse.raw_text(raw), reject.reason, reject.detail)
                    )
                    counts["rejected"][reject.reason] = counts["rejected"].get(reject.reason, 0) + 1
                if block.events.num_rows:
                    yield block.events
        except landing.CorruptFile as exc:  # the lines before the damage are in; the damage is one record
            counts["lines_read"] += 1
            counts["rejected"]["corrupt_file"] = counts["rejected"].get("corrupt_file", 0) + 1
            rejects.append(
                (
                    landed.relpath,
                    exc.line,
                    parse.raw_text(exc.fragment),
                    "corrupt_file",
                    f"{landed.relpath}: {exc}",
                )
            )
        if rejects:
            self.rejected_lines.inc(len(rejects))
            yield beam.pvalue.TaggedOutput(
                REJECTED, tables.rejected_table(rejects, self.run_id, self.ingest_us)
            )
        yield beam.pvalue.TaggedOutput(STATS, counts)


class ParseEvents(beam.PTransform):
    """Landed files -> valid events (tables), dead-lettered lines (tables), per-file line counts."""

    def __init__(
        self, ingest_us: int, run_id: str, block_bytes: int = 8 << 20, min_event_us: int | None = None
    ):
        super().__init__()
        self.fn = ParseFileFn(ingest_us, run_id, block_bytes, min_event_us)

    def expand(self, files):
        return (
            files
            | "SpreadFiles" >> beam.Reshuffle()
            | "ParseFile" >> beam.ParDo(self.fn).with_outputs(REJECTED, STATS, main="events")
        )


# The columns the window computation reads: context events are read with only these.
WINDOW_COLUMNS = [
    "platform",
    "profile_id",
    "event_id",
    "event_type",
    "event_time",
    "actor_id",
    "sponsored",
    "followers",
    "post_id",
]


_NO_EVENTS = tables.EVENT_ROW_SCHEMA.empty_table().select(WINDOW_COLUMNS)


class ReadFilesFn(beam.DoFn):
    """(kind, group of stored files) -> the tables `readers[kind]` reads from them, tagged `kind`:
    one read step, one shuffle, for every kind of stored file a run reads (pipelines.stored)."""

    def __init__(self, readers: dict):
        self.readers = readers

    def process(self, kind_paths):
        kind, paths = kind_paths
        for table in self.readers[kind].read(paths):
            yield beam.pvalue.TaggedOutput(kind, table)


class DropKeysFn(beam.DoFn):
    """Event tables -> the same without the (platform, event_id) keys listed in a Parquet file."""

    def __init__(self, keys_file: str):
        self.keys_file = keys_file

    def setup(self):
        with FileSystems.open(self.keys_file) as source:
            self.keys = tables.event_keys(pq.read_table(source, columns=["platform", "event_id"]))

    def process(self, table: pa.Table):
        kept = table.filter(pc.invert(pc.is_in(tables.event_keys(table), value_set=self.keys)))
        if kept.num_rows:
            yield kept


def _mark(table: pa.Table, is_new: bool) -> pa.Table:
    return table.append_column(tables.IS_NEW, pa.array([is_new] * table.num_rows, pa.bool_()))


class SpillByBucketFn(beam.DoFn):
    """A table -> (bucket, spill file of its rows in that bucket) for each bucket it has rows in."""

    def __init__(self, key_columns: list[str], num_buckets: int, spill_dir: str):
        self.key_columns = key_columns
        self.num_buckets = num_buckets
        self.spill_dir = spill_dir

    def process(self, table: pa.Table):
        buckets = tables.stable_buckets(table, self.key_columns, self.num_buckets)
        for bucket, rows in tables.split_by(table, buckets):
            yield bucket, spill.write(rows, self.spill_dir)


class SpillByBucket(beam.PTransform):
    """One or more PCollections of tables -> (bucket, spill path) pairs (see pipelines.spill).

    Each input spills on its own, before the Flatten: the local runner materialises a Flatten of
    PCollections made in different stages, which would hold every table of the run in memory."""

    def __init__(
        self, key_columns: list[str], num_buckets: int, spill_dir: str, select: list[str] | None = None
    ):
        super().__init__()
        self.fn = SpillByBucketFn(key_columns, num_buckets, spill_dir)
        self.select = select

    def expand(self, pcolls):
        pcolls = pcolls if isinstance(pcolls, (tuple, list)) else (pcolls,)
        spilled = []
        for i, tables_pcoll in enumerate(pcolls):
            if self.select:
                tables_pcoll = tables_pcoll | f"Select{i}" >> beam.Map(
                    lambda t, names: t.select(names), self.select
                )
            spilled.append(tables_pcoll | f"Spill{i}" >> beam.ParDo(self.fn))
        return spilled | "AllPaths" >> beam.Flatten()


class GroupByBucket(beam.PTransform):
    """One or more PCollections of tables -> (bucket, [spill paths]): rows with the same key meet
    in one bucket, and only paths go through the shuffle."""

    def __init__(
        self, key_columns: list[str], num_buckets: int, spill_dir: str, select: list[str] | None = None
    ):
        super().__init__()
        self.spill = SpillByBucket(key_columns, num_buckets, spill_dir, select)

    def expand(self, pcolls):
        return pcolls | "Spill" >> self.spill | "GroupPaths" >> beam.GroupByKey()


class GatherByDate(beam.PTransform):
    """Event tables -> one table per bucket of event dates: a run's events of one date meet in one
    table, so the run writes one file into each events partition (not one per bucket of keys)."""

    def __init__(self, num_buckets: int, spill_dir: str):
        super().__init__()
        self.group = GroupByBucket(["event_date"], num_buckets, spill_dir)

    def expand(self, event_tables):
        return (
            event_tables | "ByDate" >> self.group | "Gather" >> beam.Map(lambda kv: spill.read(sorted(kv[1])))
        )


class DedupBucketFn(beam.DoFn):
    def process(self, bucket_paths):
        _, paths = bucket_paths
        kept, stats = dedup.deduplicate(spill.read(sorted(paths)))
        yield kept
        yield beam.pvalue.TaggedOutput(STATS, stats)


class DeduplicateEvents(beam.PTransform):
    """New and already-stored events -> one table of kept rows per bucket of (platform, event_id), plus DedupStats."""

    def __init__(self, num_buckets: int, spill_dir: str):
        super().__init__()
        self.num_buckets = num_buckets
        self.spill_dir = spill_dir

    def expand(self, pcolls):
        new_events, stored_events = pcolls
        marked = (
            new_events | "MarkNew" >> beam.Map(_mark, True),
            stored_events | "MarkStored" >> beam.Map(_mark, False),
        )
        return (
            marked
            | "ByEventBucket" >> GroupByBucket(["platform", "event_id"], self.num_buckets, self.spill_dir)
            | "KeepOneCopy" >> beam.ParDo(DedupBucketFn()).with_outputs(STATS, main="events")
        )


EVENTS_IN, STORED_DAILY_IN, STORED_ENGAGERS_IN = "events", "stored_daily", "stored_engagers"
BOOKINGS_IN = "bookings"  # counter bookings (engagement.BOOKING_SCHEMA) of the days computed from events


class ProfileBucketFn(beam.DoFn):
    """All inputs of a bucket of profiles -> daily rows and trailing windows ending in [recompute_from, as_of_day].

    Inputs by name: the events of the days being recomputed, and for days whose daily rows are
    final already, those stored rows and the days' distinct engagers (cheaper than the events)."""

    def __init__(
        self, as_of_day: int, recompute_from: int | None, first_event_day: int | None, counters: bool = False
    ):
        self.as_of_day = as_of_day
        self.recompute_from = recompute_from
        self.first_event_day = first_event_day
        self.counters = counters  # bookings come as BOOKINGS_IN (else: from the events' own post_metrics)

    def process(self, bucket_inputs):
        _, paths = bucket_inputs
        dailies, engagers = [], []
        bookings = None
        if self.counters:
            bookings = spill.read(sorted(paths[BOOKINGS_IN])) if paths.get(BOOKINGS_IN) else None
            bookings = (
                engagement.BOOKING_SCHEMA.empty_table()
                if bookings is None
                else bookings.cast(engagement.BOOKING_SCHEMA)
            )
        if paths.get(EVENTS_IN) or (bookings is not None and bookings.num_rows):
            events = spill.read(sorted(paths[EVENTS_IN])) if paths.get(EVENTS_IN) else _NO_EVENTS
            # a heavy profile (15% of all events) makes one bucket big: aggregate it a few days at a time
            daily, engaged = engagement.daily_engagement_by_day_ranges(
                events, self.as_of_day, self.first_event_day, bookings=bookings
            )
            if daily.num_rows:
                written = daily
                if self.recompute_from is not None:
                    written = daily.filter(pc.greater_equal(daily["day"], self.recompute_from))
                yield beam.pvalue.TaggedOutput(DAILY, engagement.to_daily_dataset(written))
            dailies.append(daily)
            engagers.append(engaged)
        if paths.get(STORED_DAILY_IN):
            dailies.append(spill.read(sorted(paths[STORED_DAILY_IN])))
        if paths.get(STORED_ENGAGERS_IN):
            engagers.append(spill.read(sorted(paths[STORED_ENGAGERS_IN])))
        daily = tables.concat(dailies)
        if daily is not None and self.first_event_day is not None:  # stored days before the history horizon
            daily = daily.filter(pc.greater_equal(daily["day"], self.first_event_day))
        if daily is None or daily.num_rows == 0:
            return
        engaged = tables.concat(engagers) if engagers else engagement.ENGAGER_SCHEMA.empty_table()
        yield beam.pvalue.TaggedOutput(
            TRAILING, engagement.trailing_engagement(daily, engaged, self.as_of_day, self.recompute_from)
        )


class WindowEngagement(beam.PTransform):
    """Deduplicated events -> engagement_daily and engagement_trailing tables (7- and 28-day windows).

    Applied to event tables (a PCollection or a tuple of them), or to a dict that adds, for days
    whose daily rows are stored and final, those rows (STORED_DAILY_IN) and the days' distinct
    engagers (STORED_ENGAGERS_IN): only the events' days get daily rows written.

    Windows are explicit day indexes rather than Beam's WindowInto: in batch every event is
    in exactly one day and Beam's per-element windowing would cost ~100x (PLATFORM.md).
    """

    def __init__(
        self,
        as_of_day: int,
        num_buckets: int,
        spill_dir: str,
        recompute_from: int | None = None,
        first_event_day: int | None = None,
        counters: bool = False,
    ):
        super().__init__()
        self.counters = counters
        self.as_of_day = as_of_day
        self.num_buckets = num_buckets
        self.spill_dir = spill_dir
        self.recompute_from = recompute_from
        self.first_event_day = first_event_day

    def expand(self, inputs):
        inputs = inputs if isinstance(inputs, dict) else {EVENTS_IN: inputs}
        spilled = {
            name: pcolls
            | f"Spill_{name}"
            >> SpillByBucket(
                ["platform", "profile_id"],
                self.num_buckets,
                FileSystems.join(self.spill_dir, name),
                select=WINDOW_COLUMNS if name == EVENTS_IN else None,
            )
            for name, pcolls in inputs.items()
        }
        return (
            spilled
            | "ByProfileBucket" >> beam.CoGroupByKey()
            | "Aggregate"
            >> beam.ParDo(
                ProfileBucketFn(self.as_of_day, self.recompute_from, self.first_event_day, self.counters)
            ).with_outputs(DAILY, TRAILING)
        )


def _write_staged(table: pa.Table, path: str, compression: str | None = None) -> None:
    """A Parquet file written by a worker, through Beam's FileSystems (which creates the
    directories): the staging dir may be any file system the runner's workers share."""
    with FileSystems.create(path) as sink:
        write_parquet(table, sink, compression)


def _file_name(table: pa.Table, run_id: str) -> str:
    """A name unique to this run and these rows (sorted): a retried bundle rewrites its own file
    instead of adding a second copy of the rows."""
    ends = [table.slice(0, 1).to_pylist(), table.slice(table.num_rows - 1, 1).to_pylist(), table.num_rows]
    digest = hashlib.sha256(repr(ends).encode()).hexdigest()[:16]
    return f"part-{run_id}-{digest}.parquet"


class WritePartitionsFn(beam.DoFn):
    """Each table -> one Parquet file per partition value it holds, in the staging dir, rows in the
    dataset's `sort_keys` order; no shuffle: a partition gets one file from each table (bucket) that
    has rows in it, and the run's compaction merges them before the commit (storage.compaction)."""

    def __init__(self, dataset, staging_dir: str, run_id: str):
        self.dataset = dataset
        self.staging_dir = staging_dir
        self.run_id = run_id

    def process(self, table: pa.Table):
        part = self.dataset.partition
        for day, rows in tables.split_sorted(table, part, list(self.dataset.sort_keys)):
            value = pa.scalar(day, pa.int32()).cast(pa.date32()).as_py().isoformat()
            # The files carry the documented schema (each column's doc in its Parquet field metadata).
            rows = pa.Table.from_arrays(
                rows.select(self.dataset.schema.names).columns, schema=self.dataset.schema
            )
            target = FileSystems.join(self.staging_dir, self.dataset.name, f"{part}={value}")
            _write_staged(rows, FileSystems.join(target, _file_name(rows, self.run_id)))
            yield self.dataset.name, value, rows.num_rows


class WritePartitionedParquet(beam.PTransform):
    """Tables carrying a date partition column -> Parquet files per partition in the staging dir.

    The files are staged, not published: the run commits them by swapping whole partition
    directories once every write succeeded (see storage.warehouse).
    """

    def __init__(self, dataset, staging_dir: str, run_id: str):
        super().__init__()
        self.fn = WritePartitionsFn(dataset, staging_dir, run_id)

    def expand(self, tables_pcoll):
        return tables_pcoll | "WriteFiles" >> beam.ParDo(self.fn)


class WriteFilesFn(beam.DoFn):
    """Each table -> one Parquet file in `directory` (unpartitioned scratch data, e.g. candidates)."""

    def __init__(self, directory: str, run_id: str):
        self.directory = directory
        self.run_id = run_id

    def process(self, table: pa.Table):
        if table.num_rows:
            table = table.drop_columns(["event_date"])
            # scratch read back within the run: lz4 writes several times faster than zstd on big tables
            _write_staged(table, FileSystems.join(self.directory, _file_name(table, self.run_id)), "lz4")
