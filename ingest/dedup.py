"""Deduplicate events by (platform, event_id): pure, deterministic, incremental-safe.

The kept copy is the most complete one (SPEC section 2: the most fields set), ties broken by the
smallest payload_hash, then (source_file, source_line) for identical payloads. "Fields set" is
FIELDS_SET_COLUMNS that are not null: the nullable payload columns of `events` (the always-set
ones add the same to every copy). It is computed from the columns, never stored: the same
count comes out of a row in flight, a stored row (microradar/touched.py computes it in SQL with
`fields_set_sql`) and a file written before v2 (its v2 columns read as null). The rule depends
only on the copies, not on which run or file delivered them first, so incremental nights and a
full rebuild keep the same copy. Rows already in the warehouse are passed in with
`_is_new = false`; they count as neither accepted nor duplicate again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ingest.parse import PAYLOAD_COLUMNS
from ingest.tables import IS_NEW
from schemas.datasets import EVENTS

FIELDS_SET = "_fields_set"  # internal sort column, never written
FIELDS_SET_COLUMNS = tuple(f.name for f in EVENTS.schema if f.nullable and f.name in PAYLOAD_COLUMNS)
SORT_KEYS = [
    ("platform", "ascending"),
    ("event_id", "ascending"),
    (FIELDS_SET, "descending"),
    ("payload_hash", "ascending"),
    ("source_file", "ascending"),
    ("source_line", "ascending"),
]


@dataclass(frozen=True)
class DedupStats:
    accepted: int = 0  # new lines that are the first copy of their event in the warehouse
    duplicates: int = 0  # new valid lines whose event was already accepted (this run or earlier)
    conflicting_duplicates: int = 0  # copies whose payload differs from the kept copy

    def __add__(self, other: DedupStats) -> DedupStats:
        return DedupStats(
            self.accepted + other.accepted,
            self.duplicates + other.duplicates,
            self.conflicting_duplicates + other.conflicting_duplicates,
        )


def fields_set(table: pa.Table) -> pa.Array:
    """Per row: how many of FIELDS_SET_COLUMNS are set (not null)."""
    counts = np.zeros(table.num_rows, dtype=np.int64)
    for name in FIELDS_SET_COLUMNS:
        counts += pc.is_valid(table[name]).to_numpy(zero_copy_only=False)
    return pa.array(counts)


def fields_set_sql(alias: str, present: set[str] | None = None) -> str:
    """SQL: fields_set of the row `alias` (a DuckDB relation with the events columns). `present`:
    the columns the relation has (files written before a column was added lack it: unset)."""
    names = [n for n in FIELDS_SET_COLUMNS if present is None or n in present]
    return "(" + " + ".join(["0"] + [f"({alias}.{name} is not null)::integer" for name in names]) + ")"


def _group_starts(table: pa.Table) -> np.ndarray:
    """Boolean mask: the row starts a new (platform, event_id) group (table is sorted)."""
    n = table.num_rows
    starts = np.ones(n, dtype=bool)
    if n > 1:
        same = None
        for name in ("platform", "event_id"):
            column = table[name]
            equal = pc.equal(column.slice(1), column.slice(0, n - 1))  # Arrow compares, no Python strings
            same = equal if same is None else pc.and_(same, equal)
        starts[1:] = ~same.to_numpy()
    return starts


def deduplicate(table: pa.Table) -> tuple[pa.Table, DedupStats]:
    """table: events with an `_is_new` column. Returns (one row per event without `_is_new`, stats)."""
    if table.num_rows == 0:
        return table.drop_columns([IS_NEW]), DedupStats()
    table = table.append_column(FIELDS_SET, fields_set(table)).sort_by(SORT_KEYS).drop_columns([FIELDS_SET])
    starts = _group_starts(table)
    group = np.cumsum(starts) - 1
    is_new = table[IS_NEW].to_numpy()

    groups = int(group[-1]) + 1
    new_per_group = np.bincount(group, weights=is_new, minlength=groups)
    old_per_group = np.bincount(group, weights=~is_new, minlength=groups)
    touched = new_per_group > 0
    accepted = int(np.count_nonzero(touched & (old_per_group == 0)))
    duplicates = int(is_new.sum()) - accepted
    hashes = table["payload_hash"]
    winner_hash = hashes.take(pa.array(np.flatnonzero(starts)[group]))
    differs = pc.not_equal(hashes, winner_hash).to_numpy()
    conflicting = int(np.count_nonzero(differs & touched[group]))

    kept = table.filter(pa.array(starts)).drop_columns([IS_NEW])
    return kept, DedupStats(accepted, duplicates, conflicting)
