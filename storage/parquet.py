"""The one place the project writes Parquet: settings every reader handles (PLATFORM.md).

Parquet 2.6, microsecond UTC timestamps (nanoseconds break Spark, INT96 loses the zone),
zstd, statistics on.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq


def write_parquet(table: pa.Table, where, compression: str = "zstd") -> None:
    """`where`: a path or a writable binary file object (a Beam FileSystems sink)."""
    pq.write_table(
        table, where, version="2.6", coerce_timestamps="us", compression=compression, write_statistics=True
    )
