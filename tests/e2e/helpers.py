"""Shared by the end-to-end tests: land generated days night by night, and compare warehouses."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import duckdb

from schemas.datasets import ALL_DATASETS
from tests.prefect_server import cli_env

# Run bookkeeping differs between runs by design; everything else must match row for row.
VOLATILE = {"rejected": ("run_id", "ingested_at", "ingest_date")}


def land_days(generated_landing: Path, landing: Path, days: list[str]) -> None:
    """Copy the generator's landing sub-directories of `days` into `landing` (files land as wholes)."""
    for day in days:
        source = generated_landing / day
        if source.exists():
            shutil.copytree(source, landing / day)


def dataset_rows(warehouse: Path, name: str) -> list[tuple]:
    dataset = next(d for d in ALL_DATASETS if d.name == name)
    files = sorted((warehouse / name).glob("*=*/*.parquet"))
    if not files:
        return []
    columns = [c for c in dataset.columns + [dataset.partition] if c not in VOLATILE.get(name, ())]
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    file_list = "[" + ", ".join(f"'{f}'" for f in files) + "]"
    rows = con.execute(
        f"select {', '.join(columns)} from read_parquet({file_list}, hive_partitioning = true) order by all"
    ).fetchall()
    con.close()
    return rows


def assert_same_warehouse(a: Path, b: Path) -> None:
    for dataset in ALL_DATASETS:
        rows_a, rows_b = dataset_rows(a, dataset.name), dataset_rows(b, dataset.name)
        assert len(rows_a) == len(rows_b), (dataset.name, len(rows_a), len(rows_b))
        diff = [(x, y) for x, y in zip(rows_a, rows_b) if x != y]
        assert not diff, (dataset.name, diff[:3])


BIN = Path(sys.executable).parent / "microradar"


def nightly(
    landing: Path, wh: Path, as_of, kill_at: str | None = None, fail_at: str | None = None
) -> subprocess.CompletedProcess:
    """Runs the CLI in its own process group, against the session's shared Prefect server
    (tests/prefect_server.py). A SIGKILLed run leaves its children (Beam workers) behind, as any
    killed job would: the group is cleaned up afterwards; the shared server is not in it."""
    env = cli_env()
    env.pop("MICRORADAR_KILL_AT", None)
    env.pop("MICRORADAR_FAIL_AT", None)
    if kill_at:
        env["MICRORADAR_KILL_AT"] = kill_at
    if fail_at:
        env["MICRORADAR_FAIL_AT"] = fail_at
    args = [
        str(BIN),
        "nightly",
        "--landing",
        str(landing),
        "--warehouse",
        str(wh),
        "--as-of",
        as_of.isoformat(),
        "--",
        "--runner=FnApiRunner",
    ]
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(args, stdout=out, stderr=err, env=env, start_new_session=True)
        try:
            code = proc.wait(timeout=600)
        finally:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        out.seek(0)
        err.seek(0)
        return subprocess.CompletedProcess(args, code, out.read(), err.read())
