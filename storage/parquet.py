"""The one place the project writes Parquet: settings every reader handles (PLATFORM.md).

Parquet 2.6, microsecond UTC timestamps (nanoseconds break Spark, INT96 loses the zone),
statistics on, zstd; a small table is written with snappy instead (see `codec_for`).
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

# Below this many rows a file is written with snappy: zstd sets up every column chunk, so a
# 60-column file of 30 rows took 3.7-4.4 ms with zstd against 1.4-1.6 ms with snappy (pyarrow 25),
# for a few KB saved. A night over a long history writes hundreds of such day partitions; a file
# big enough to matter (and compaction's merged files) gets zstd. Every reader the project
# supports reads both.
SMALL_TABLE_ROWS = 8_192


def codec_for(table: pa.Table) -> str:
    return "zstd" if table.num_rows >= SMALL_TABLE_ROWS else "snappy"


_SETTINGS = {"version": "2.6", "coerce_timestamps": "us", "write_statistics": True}
# write_sorted takes this many rows at a time: the sorted copy held at once is this big, not the table.
SORTED_PIECE_ROWS = 131_072


def write_parquet(table: pa.Table, where, compression: str | None = None) -> None:
    """`where`: a path or a writable binary file object (a Beam FileSystems sink). `compression`:
    None picks by the table's size (`codec_for`)."""
    pq.write_table(table, where, compression=compression or codec_for(table), **_SETTINGS)


def write_sorted(table: pa.Table, where, sort_keys: list[str]) -> None:
    """`table`'s rows in `sort_keys` order, written a piece at a time: a sorted copy of a big
    partition (compaction merges up to `target_file_bytes` of Parquet, several times that in
    memory) would double what the merge holds. Each piece is a row group."""
    order = pc.sort_indices(table, sort_keys=[(k, "ascending") for k in sort_keys])
    with pq.ParquetWriter(where, table.schema, compression=codec_for(table), **_SETTINGS) as writer:
        for start in range(0, max(len(order), 1), SORTED_PIECE_ROWS):
            writer.write_table(table.take(order[start : start + SORTED_PIECE_ROWS]))
