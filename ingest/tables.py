"""Arrow table helpers shared by the transforms: build typed batches, hash keys, split by bucket.

Beam moves whole Arrow tables between steps (one element per batch, not per event): the
per-element cost of Beam dominates otherwise (see PLATFORM.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ingest.parse import EVENT_COLUMNS
from schemas.datasets import EVENTS, REJECTED
from schemas.units import US_PER_DAY, day_date, day_number, filed_day

# Internal columns that travel with events between transforms but are never written.
IS_NEW = "_is_new"
# Events as they move through the pipeline: the dataset schema plus the partition day.
EVENT_ROW_SCHEMA = EVENTS.data_schema.append(pa.field("event_date", pa.date32(), nullable=False))


def events_table(rows: list[tuple], source_file: str, lines: list[int]) -> pa.Table:
    """Parsed rows (parse.EVENT_COLUMNS order) of one file -> an EVENT_ROW_SCHEMA table."""
    columns = list(zip(*rows)) if rows else [[] for _ in EVENT_COLUMNS]
    return events_from_columns(dict(zip(EVENT_COLUMNS, columns)), source_file, lines)


def events_from_columns(data: dict, source_file: str, lines) -> pa.Table:
    """Columns named as parse.EVENT_COLUMNS (Python sequences or Arrow arrays; event_time in µs)
    -> an EVENT_ROW_SCHEMA table."""
    data = dict(data, source_file=pa.repeat(source_file, len(lines)), source_line=lines)
    arrays = []
    for f in EVENTS.data_schema:
        values = data[f.name]
        if isinstance(values, pa.ChunkedArray):
            values = values.combine_chunks()
        if f.name == "event_time":  # µs since the epoch
            values = values if isinstance(values, pa.Array) else pa.array(values, pa.int64())
            arrays.append(values.cast(pa.int64()).cast(f.type))
        else:
            arrays.append(values.cast(f.type) if isinstance(values, pa.Array) else pa.array(values, f.type))
    return with_event_date(pa.Table.from_arrays(arrays, schema=EVENTS.data_schema))


def with_event_date(table: pa.Table) -> pa.Table:
    days = pc.divide(table["event_time"].cast(pa.int64()), US_PER_DAY)  # event_time >= 1970 holds
    return table.append_column(EVENT_ROW_SCHEMA.field("event_date"), days.cast(pa.int32()).cast(pa.date32()))


def with_filed_date(table: pa.Table, horizon: date | None, stored_days: frozenset[date]) -> pa.Table:
    """`event_date` set to the partition each row is filed under (schemas.units.filed_day): the
    same day, or the first day of its year for a day before the history horizon."""
    if horizon is None or table.num_rows == 0:
        return table
    days = table["event_date"].cast(pa.int32())
    unique = pc.unique(days)
    filed = pa.array(
        [day_number(filed_day(day_date(d), horizon, stored_days)) for d in unique.to_pylist()], pa.int32()
    )
    column = pc.take(filed, pc.index_in(days, value_set=unique)).cast(pa.date32())
    return table.set_column(
        table.schema.get_field_index("event_date"), EVENT_ROW_SCHEMA.field("event_date"), column
    )


def rejected_table(rows: list[tuple], run_id: str, ingested_us: int) -> pa.Table:
    """rows: (source_file, source_line, raw_line, reason, detail)."""
    names = ("source_file", "source_line", "raw_line", "reason", "detail")
    columns = list(zip(*rows)) if rows else [[] for _ in names]
    data = dict(zip(names, columns))
    data["run_id"] = [run_id] * len(rows)
    data["ingested_at"] = [ingested_us] * len(rows)
    arrays = [
        pa.array(data[f.name], pa.int64()).cast(f.type)
        if f.name == "ingested_at"
        else pa.array(data[f.name], f.type)
        for f in REJECTED.data_schema
    ]
    return pa.Table.from_arrays(arrays, schema=REJECTED.data_schema)


def stable_buckets(table: pa.Table, key_columns: list[str], num_buckets: int) -> np.ndarray:
    """A bucket per row from a process-independent hash of the key (Python's hash() is salted)."""
    if table.num_rows == 0:
        return np.zeros(0, dtype=np.int64)
    combined = np.zeros(table.num_rows, dtype=np.uint64)
    for name in key_columns:
        combined = _mix(combined * _BASE + _column_hashes(table[name].combine_chunks()))
    return (combined % np.uint64(num_buckets)).astype(np.int64)


def _column_hashes(strings: pa.Array, sample: int = 4096) -> np.ndarray:
    """string_hashes of a column; a column of few distinct values (platforms, profiles) hashes each
    value once and spreads the hashes by dictionary index, several times faster. Same hashes.
    A date or integer column hashes its number (days since 1970 for a date)."""
    if pa.types.is_date32(strings.type) or pa.types.is_integer(strings.type):
        numbers = strings.cast(pa.int32()) if pa.types.is_date32(strings.type) else strings
        return _mix(pc.fill_null(numbers, 0).to_numpy().astype(np.int64).astype(np.uint64))
    head = strings.slice(0, sample)
    if len(strings) > sample and len(pc.unique(head)) * 4 <= len(head):
        encoded = pc.dictionary_encode(pc.fill_null(strings, ""))  # a null hashes like ""
        return string_hashes(encoded.dictionary)[encoded.indices.to_numpy()]
    return string_hashes(strings)


_BASE = np.uint64(0x100000001B3)


def string_hashes(strings: pa.Array) -> np.ndarray:
    """A 64-bit hash of each string's UTF-8 bytes, the same in every process and on every machine.

    Polynomial over the bytes, then a splitmix64 finaliser so that keys differing only at the end
    still spread over every bucket (a null hashes like the empty string). One numpy pass per byte
    position, over the rows still that long: no Python step per row.
    """
    strings = strings.cast(pa.large_string())  # int64 offsets whatever came in
    _, offsets_buf, data_buf = strings.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=np.int64)[strings.offset : strings.offset + len(strings) + 1]
    data = np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.zeros(0, np.uint8)
    starts, lengths = offsets[:-1], np.diff(offsets)
    h = lengths.astype(np.uint64)
    shortest = int(lengths.min(initial=0))
    for position in range(shortest):  # every row is this long: no row selection needed
        h = h * _BASE + data[starts + position]
    rows = np.arange(len(strings))
    for position in range(shortest, int(lengths.max(initial=0))):
        rows = rows[lengths[rows] > position]
        h[rows] = h[rows] * _BASE + data[starts[rows] + position]
    return _mix(h)


def _mix(h: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: every input bit moves every output bit."""
    h = h ^ (h >> np.uint64(30))
    h *= np.uint64(0xBF58476D1CE4E5B9)
    h ^= h >> np.uint64(27)
    h *= np.uint64(0x94D049BB133111EB)
    h ^= h >> np.uint64(31)
    return h


def event_keys(table: pa.Table) -> pa.Array:
    """One string per row for the dedup key (platform, event_id)."""
    return pc.binary_join_element_wise(table["platform"], table["event_id"], "\x1f").combine_chunks()


def split_by(table: pa.Table, groups: np.ndarray) -> Iterator[tuple[int, pa.Table]]:
    """Yield (group, rows of that group) for each group value present, rows in original order.

    One take puts the groups in order, then each group is a zero-copy slice of it: a take per group
    concatenated every chunked column again for each group (10x the cost at 30 day partitions, issue
    20). A slice shares its buffers with the others: write it (Parquet, a spill file), which writes
    only its rows, rather than pickle it."""
    if table.num_rows == 0:
        return
    order = np.argsort(groups, kind="stable")
    sorted_groups = groups[order]
    grouped = table.take(pa.array(order))
    yield from _slices(grouped, sorted_groups)


def _slices(table: pa.Table, sorted_groups: np.ndarray) -> Iterator[tuple[int, pa.Table]]:
    """(group, slice) for each run of equal values of `sorted_groups` (the table's rows in that order)."""
    bounds = np.flatnonzero(np.diff(sorted_groups)) + 1
    starts = np.concatenate(([0], bounds))
    ends = np.concatenate((bounds, [len(sorted_groups)]))
    for start, end in zip(starts, ends):
        yield int(sorted_groups[start]), table.slice(start, end - start)


def split_sorted(table: pa.Table, group_column: str, sort_keys: list[str]) -> Iterator[tuple[int, pa.Table]]:
    """Like split_by on a date or integer column, each group's rows ordered by `sort_keys`: one sort
    of the whole table, where split_by and a sort per group would copy the rows twice."""
    if table.num_rows == 0:
        return
    ordered = table.sort_by([(k, "ascending") for k in [group_column, *sort_keys]])
    column = ordered[group_column]
    groups = (column.cast(pa.int32()) if pa.types.is_date32(column.type) else column).to_numpy()
    yield from _slices(ordered, groups)


def concat(tables: list[pa.Table]) -> pa.Table:
    return pa.concat_tables(tables).combine_chunks() if tables else None
