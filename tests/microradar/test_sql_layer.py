"""The analyst database's views over the Parquet datasets."""

from datetime import date

import pyarrow as pa
import pyarrow.parquet as pq

from microradar import sql_layer
from microradar.warehouse import Warehouse
from schemas.datasets import ENGAGEMENT_DAILY


def daily_row(saves: int) -> dict:
    row = {name: 1 for name in ENGAGEMENT_DAILY.columns}
    return {**row, "platform": "instagram", "profile_id": "alice", "saves": saves}


def test_analyst_views_read_files_written_before_a_column_was_added(tmp_path):
    wh = Warehouse.at(tmp_path / "wh")
    old, new = wh.dataset_dir(ENGAGEMENT_DAILY) / "day=2026-11-01", wh.dataset_dir(ENGAGEMENT_DAILY) / "day=2026-11-02"
    old.mkdir(parents=True)
    new.mkdir(parents=True)
    # The oldest file (first in the glob) lacks `saves`: the view must still show it for newer files.
    pq.write_table(pa.Table.from_pylist([daily_row(0)]).drop_columns(["saves"]), old / "part-a.parquet")
    pq.write_table(pa.Table.from_pylist([daily_row(3)]), new / "part-b.parquet")

    path = wh.duckdb_path  # views relative to its folder
    sql_layer.build_analyst_db(wh, path, date(2026, 11, 2))
    con = sql_layer.open_analyst_db(path)
    try:
        rows = con.execute("select day, saves from engagement_daily order by day").fetchall()
    finally:
        con.close()
    assert rows == [(date(2026, 11, 1), None), (date(2026, 11, 2), 3)]


def test_a_night_copies_the_published_analyst_database_unless_its_definition_changed(tmp_path):
    from dataclasses import replace

    from microradar import config as cfg

    wh = Warehouse.at(tmp_path / "wh")
    part = wh.dataset_dir(ENGAGEMENT_DAILY) / "day=2026-11-01"
    part.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist([daily_row(3)]), part / "part-a.parquet")

    def build(as_of, config=cfg.DEFAULT):
        staged = tmp_path / "staged.duckdb"
        sql_layer.build_analyst_db(wh, staged, as_of, config)
        staged.replace(wh.duckdb_path)  # what the commit does
        con = sql_layer.open_analyst_db(wh.duckdb_path)
        try:
            tables = {r[0] for r in con.execute("select table_name from duckdb_tables()").fetchall()}
            params = con.execute("select as_of from run_params").fetchall()[0][0]
            rising = con.execute("select min_growth_pct_28d from cfg_rising").fetchall()[0][0]
            saves = con.execute("select sum(saves) from engagement_daily").fetchall()[0][0]
        finally:
            con.close()
        return tables, params, rising, saves

    build(date(2026, 11, 1))
    con = sql_layer.connect(wh.duckdb_path)
    con.execute("create table marker as select 1 as x")  # survives only if the next night copies the file
    con.close()
    part2 = wh.dataset_dir(ENGAGEMENT_DAILY) / "day=2026-11-02"
    part2.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist([daily_row(4)]), part2 / "part-b.parquet")

    tables, as_of, _, saves = build(date(2026, 11, 2))
    assert "marker" in tables and as_of == date(2026, 11, 2)
    assert saves == 7  # the copied views read the files there are now

    changed = replace(cfg.DEFAULT, rising=replace(cfg.DEFAULT.rising, min_growth_pct_28d=0.5))
    tables, as_of, rising, _ = build(date(2026, 11, 3), changed)
    assert "marker" not in tables and as_of == date(2026, 11, 3) and rising == 0.5
