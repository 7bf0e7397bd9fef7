"""The analyst file `microradar.duckdb`: opened by the real DuckDB command-line client (pip
`duckdb-cli`, the current release) in a subprocess, from inside the warehouse folder, from elsewhere
with `file_search_path`, and after the whole warehouse was copied to another folder; same answers
as Python every time. Also: the sandboxed `analyst_session` of `microradar query`."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from schemas.datasets import ENGAGEMENT_DAILY, EVENTS, STREAM_TOO_LATE, VIEW_DATASETS
from storage import sql_layer
from storage.warehouse import Warehouse

DUCKDB_CLI = Path(sys.executable).parent / "duckdb"  # pip duckdb-cli, pinned in the test extra

QUERIES = (
    "select day::varchar as day, saves from engagement_daily order by day",
    "select event_date::varchar as d, event_id, cast(event_time as date)::varchar as t, hashtags::varchar as h "
    "from events order by event_id",
    "select count(*) as n from rising_micro_influencers",
    "select count(*) as n from rising_on(date '2026-11-02')",
    "select source_line, reason from stream_too_late",
    "select as_of::varchar as as_of from run_params",
    "select current_setting('TimeZone') as tz",
)


def daily_row(saves: int) -> dict:
    row = {name: 1 for name in ENGAGEMENT_DAILY.columns}
    return {**row, "platform": "instagram", "profile_id": "alice", "saves": saves}


def make_warehouse(root: Path) -> Warehouse:
    wh = Warehouse.at(root)
    for day, saves in (("2026-11-01", 2), ("2026-11-02", 5)):
        part = wh.dataset_dir(ENGAGEMENT_DAILY) / f"day={day}"
        part.mkdir(parents=True)
        pq.write_table(pa.Table.from_pylist([daily_row(saves)]), part / "part-a.parquet")
    event = {f.name: None for f in EVENTS.schema}
    event.update(
        platform="instagram",
        event_id="e1",
        event_type="post",
        profile_id="alice",
        schema_version=1,
        post_id="p1",
        hashtags=["a", "b,c", 'd"e'],
        source_file="f.jsonl",
        source_line=1,
        payload_hash="h",
        # 23:30 UTC: another day in most time zones, the same day in UTC
        event_time=datetime(2026, 11, 2, 23, 30, tzinfo=UTC),
    )
    part = wh.dataset_dir(EVENTS) / "event_date=2026-11-02"
    part.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist([event], schema=EVENTS.data_schema), part / "part-a.parquet")
    late = {
        "source_file": "f.jsonl",
        "source_line": 7,
        "raw_line": "{}",
        "reason": "too_late",
        "detail": "late",
        "run_id": "r",
        "ingested_at": datetime(2026, 11, 3, tzinfo=UTC),
    }
    part = wh.root / STREAM_TOO_LATE.name / "ingest_date=2026-11-03"
    part.mkdir(parents=True)
    pq.write_table(
        pa.Table.from_pylist([late], schema=STREAM_TOO_LATE.data_schema), part / "part-stream-a.parquet"
    )
    sql_layer.build_analyst_db(wh, wh.duckdb_path, date(2026, 11, 2))
    return wh


def python_answers(wh: Warehouse) -> list[list[dict]]:
    con = sql_layer.open_analyst_db(wh.duckdb_path)
    try:
        out = []
        for q in QUERIES:
            cur = con.execute(q)
            names = [d[0] for d in cur.description]
            out.append([dict(zip(names, row)) for row in cur.fetchall()])
        return out
    finally:
        con.close()


def cli_answers(db: Path, cwd: Path, *commands: str) -> list[list[dict]]:
    """Each query through the DuckDB CLI binary (JSON mode), as an analyst would run it."""
    assert DUCKDB_CLI.exists(), "pip install -e '.[test]' installs duckdb-cli"
    out = []
    for q in QUERIES:
        args = [str(DUCKDB_CLI), "-readonly", "-json"]
        for c in commands:
            args += ["-cmd", c]
        result = subprocess.run(
            args + [str(db), "-c", q],
            capture_output=True,
            text=True,
            cwd=cwd,
            timeout=60,
            env={"PATH": "/usr/bin:/bin", "HOME": str(cwd), "TZ": "America/Los_Angeles"},
        )
        assert result.returncode == 0, (q, result.stderr)
        text = result.stdout.strip()
        out.append(json.loads(text) if text else [])
    return out


@pytest.fixture
def wh(tmp_path) -> Warehouse:
    return make_warehouse(tmp_path / "wh")


def test_the_current_duckdb_cli_opens_the_file_inside_the_folder_and_from_elsewhere(wh, tmp_path):
    expected = python_answers(wh)
    assert expected[0] == [{"day": "2026-11-01", "saves": 2}, {"day": "2026-11-02", "saves": 5}]
    assert expected[1][0]["t"] == "2026-11-02" and expected[-1] == [{"tz": "UTC"}]
    utc = "SET TimeZone='UTC'"
    # inside the warehouse folder: relative views resolve against the working directory
    assert cli_answers(Path("microradar.duckdb"), wh.root, utc) == expected
    # from elsewhere: file_search_path names the warehouse
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert cli_answers(wh.duckdb_path, elsewhere, utc, f"SET file_search_path='{wh.root}'") == expected


def test_a_copied_warehouse_reads_its_own_files(wh, tmp_path):
    expected = python_answers(wh)
    moved = tmp_path / "mounted" / "wh2"
    shutil.copytree(wh.root, moved)
    shutil.rmtree(wh.root)  # nothing may still point at the old place
    assert cli_answers(Path("microradar.duckdb"), moved, "SET TimeZone='UTC'") == expected
    assert python_answers(Warehouse.at(moved)) == expected


def test_the_file_is_written_in_the_chosen_storage_version_also_when_a_night_reuses_it(wh):
    def version() -> str:
        con = duckdb.connect()
        try:
            con.execute("ATTACH ? AS f (READ_ONLY)", [str(wh.duckdb_path)])
            return con.execute(
                "select tags['storage_version'] from duckdb_databases() where database_name = 'f'"
            ).fetchone()[0]
        finally:
            con.close()

    assert version().startswith(sql_layer.ANALYST_DB_STORAGE_VERSION)
    staged = wh.root / "staged.duckdb"
    sql_layer.build_analyst_db(wh, staged, date(2026, 11, 3))  # same definition: a copy with a new as-of
    staged.replace(wh.duckdb_path)
    assert version().startswith(sql_layer.ANALYST_DB_STORAGE_VERSION)
    assert cli_answers(Path("microradar.duckdb"), wh.root, "SET TimeZone='UTC'")[5] == [
        {"as_of": "2026-11-03"}
    ]


def test_every_dataset_has_a_view_stream_too_late_included(wh):
    con = sql_layer.connect(wh.duckdb_path, read_only=True)
    try:
        views = {
            r[0] for r in con.execute("select view_name from duckdb_views() where not internal").fetchall()
        }
    finally:
        con.close()
    assert {d.name for d in VIEW_DATASETS} <= views and "stream_too_late" in views


SANDBOX_ESCAPES = (
    "select * from read_text('/etc/passwd')",
    "select * from read_csv('/etc/passwd')",
    "select * from glob('/etc/*')",
    "ATTACH '/tmp/x.duckdb' AS x",
    "INSTALL httpfs",
    "SET enable_external_access = true",
)


@pytest.mark.parametrize("sql", SANDBOX_ESCAPES)
def test_the_sandboxed_session_refuses_everything_outside_the_warehouse(wh, sql):
    con = sql_layer.analyst_session(wh)
    try:
        with pytest.raises(duckdb.Error):
            con.execute(sql).fetchall()
    finally:
        con.close()


def test_the_sandboxed_session_answers_like_the_file(wh):
    con = sql_layer.analyst_session(wh)
    try:
        got = []
        for q in QUERIES:
            cur = con.execute(q)
            names = [d[0] for d in cur.description]
            got.append([dict(zip(names, row)) for row in cur.fetchall()])
    finally:
        con.close()
    assert got == python_answers(wh)
