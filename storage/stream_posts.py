"""What the stream knows about each post's counters, kept beside the stream manifest so that a
restart books the next observation against the last one, not as a first (double counting).

`_meta/stream_posts/` holds what the stream's per-post state was built from: every post and
post_metrics line it accepted (the raw line, parsed again on start) and every (post, kind, day)
on which the post received interaction events of that kind, each with the wall-clock arrival
of its line (the stream manifest's `ingested_at`). A restart seeds its state with the rows that
arrived before the replay horizon and rebuilds the rest by replaying those files.

Append-only: each bundle of the stream adds one file (temp file, fsync, rename, so a kill leaves
whole files only); `compact` folds them into one at start and whenever the stream has added
many. Rows are keyed by (source_file,
source_line) for lines and by (platform, profile_id, post_id, kind, day) for interaction days: a
row written twice (a replayed file) is one row.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from storage.parquet import write_parquet

DIRECTORY = "stream_posts"
SCHEMA = pa.schema(
    [
        ("platform", pa.string()),
        ("profile_id", pa.string()),
        ("post_id", pa.string()),
        ("kind", pa.string()),  # an interaction day's kind; null for a post or post_metrics line
        ("day", pa.int32()),  # an interaction day (days since 1970-01-01); null for a line
        ("source_file", pa.string()),
        ("source_line", pa.int64()),
        ("raw_line", pa.string()),
        ("arrival_us", pa.int64()),  # wall-clock arrival of the line (the stream manifest's ingested_at)
    ]
)
_KEY = ["platform", "profile_id", "post_id", "kind", "day", "source_file", "source_line"]


def directory(warehouse_root) -> Path:
    return Path(warehouse_root) / "_meta" / DIRECTORY


def append(warehouse_root, rows: list[dict]) -> Path | None:
    """Add `rows` (SCHEMA dicts) as one new file; None when there is nothing to add."""
    if not rows:
        return None
    where = directory(warehouse_root)
    where.mkdir(parents=True, exist_ok=True)
    name = f"part-{uuid.uuid4().hex}.parquet"
    tmp = where / f".{name}.tmp"
    write_parquet(pa.Table.from_pylist(rows, schema=SCHEMA), tmp)
    with open(tmp, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, where / name)
    return where / name


def _files(warehouse_root) -> list[Path]:
    where = directory(warehouse_root)
    return sorted(where.glob("part-*.parquet")) if where.is_dir() else []


def read(warehouse_root, arrived_before_us: int | None = None) -> pa.Table:
    """The distinct rows (arrived before `arrived_before_us`, if given), in arrival order."""
    files = _files(warehouse_root)
    if not files:
        return SCHEMA.empty_table()
    table = ds.dataset([str(f) for f in files], schema=SCHEMA, format="parquet").to_table()
    if arrived_before_us is not None:
        table = table.filter(pc.less(table["arrival_us"], arrived_before_us))
    # the first arrival of a row written twice
    order = [("arrival_us", "ascending"), ("source_file", "ascending"), ("source_line", "ascending")]
    table = table.sort_by(order)
    table = table.append_column("_i", pa.array(range(table.num_rows), pa.int64()))
    first = pa.TableGroupBy(table, _KEY, use_threads=False).aggregate([("_i", "min")])
    return table.take(first["_i_min"]).sort_by(order).drop_columns(["_i"])


def file_count(warehouse_root) -> int:
    return len(_files(warehouse_root))


def compact(warehouse_root) -> int:
    """Fold every file into one (written before the others are removed: a kill in between, or two
    compactions at once, leave rows twice, which `read` counts once; a file added meanwhile is
    not among those removed). Returns the number of rows kept."""
    files = _files(warehouse_root)
    if len(files) <= 1:
        return read(warehouse_root).num_rows if files else 0
    table = read(warehouse_root)
    append(warehouse_root, table.to_pylist())
    for f in files:
        f.unlink(missing_ok=True)
    return table.num_rows
