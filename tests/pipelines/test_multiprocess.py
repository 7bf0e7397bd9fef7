"""The batch pipeline gives the same answers in one process and in two worker processes.

`--direct_num_workers=2 --direct_running_mode=multi_processing` runs real SDK worker processes
(the portable Fn API model of Flink/Dataflow): everything must pickle, and nothing may lean on
process-local state (salted hash(), globals, iteration order of sets).
"""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repo root, for `bench`
from bench.throughput import generate, run_beam  # noqa: E402

SINGLE = ["--runner=FnApiRunner"]
MULTI = ["--runner=FnApiRunner", "--direct_num_workers=2", "--direct_running_mode=multi_processing"]
COMPARED = ("events", "engagement_daily", "engagement_trailing")


def _dataset(root: Path, name: str) -> list[tuple]:
    """Every row of a Hive-partitioned dataset (partition column included), sorted."""
    files = sorted(root.glob(f"{name}/*=*/*.parquet"))
    assert files, f"no {name} files under {root}"
    rows = []
    for f in files:
        part, value = f.parent.name.split("=", 1)
        table = pq.read_table(f)
        for row in table.to_pylist():
            row[part] = value
            rows.append(tuple(sorted((k, repr(v)) for k, v in row.items())))
    return sorted(rows)


@pytest.fixture(scope="module")
def landing(tmp_path_factory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("landing")
    summary = generate(root, 3_000, seed=11, profiles=300, days=30)
    return root, summary


def test_two_worker_processes_match_one_process(landing, tmp_path):
    root, summary = landing
    ingest_us = int(datetime.now(UTC).timestamp() * 1_000_000)
    first, last = date.fromisoformat(summary["first_day"]), date.fromisoformat(summary["as_of_day"])
    single = run_beam(root, tmp_path / "single", SINGLE, ingest_us, first, last, num_buckets=4)
    multi = run_beam(root, tmp_path / "multi", MULTI, ingest_us, first, last, num_buckets=4)

    assert single["stats"] == multi["stats"]
    assert single["stats"]["lines_read"] == summary["lines"]
    assert single["stats"]["duplicates"] == summary["duplicate_lines"]
    for name in COMPARED:
        one, two = _dataset(tmp_path / "single", name), _dataset(tmp_path / "multi", name)
        assert len(one) == len(two) > 0, name
        assert one == two, name
