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

    path = tmp_path / "analyst.duckdb"
    sql_layer.build_analyst_db(wh, path, date(2026, 11, 2))
    con = sql_layer.connect(path, read_only=True)
    try:
        rows = con.execute("select day, saves from engagement_daily order by day").fetchall()
    finally:
        con.close()
    assert rows == [(date(2026, 11, 1), None), (date(2026, 11, 2), 3)]
