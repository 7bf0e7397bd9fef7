"""The analyst database's views over the Parquet datasets."""

from datetime import date

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from schemas import config as cfg
from schemas.datasets import ENGAGEMENT_DAILY
from storage import sql_layer
from storage.warehouse import Warehouse


def daily_row(saves: int) -> dict:
    row = {name: 1 for name in ENGAGEMENT_DAILY.columns}
    return {**row, "platform": "instagram", "profile_id": "alice", "saves": saves}


def test_analyst_views_read_files_written_before_a_column_was_added(tmp_path):
    wh = Warehouse.at(tmp_path / "wh")
    old, new = (
        wh.dataset_dir(ENGAGEMENT_DAILY) / "day=2026-11-01",
        wh.dataset_dir(ENGAGEMENT_DAILY) / "day=2026-11-02",
    )
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

    from schemas import config as cfg

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


def test_models_run_after_every_model_they_read():
    ordered = [name for _, name, _ in sql_layer.models_in_order()]
    assert ordered[-1] == "profile_daily"
    for i, (_, name, sql) in enumerate(sql_layer.models_in_order()):
        code = "\n".join(line.split("--")[0] for line in sql.splitlines())
        later = [other for other in ordered[i + 1 :] if f" {other}" in code or f"\n{other}" in code]
        assert not later, f"{name} reads {later}, which run after it"
    assert [layer for layer, _, _ in sql_layer.models_in_order()][0] == "staging"


def test_an_audit_finding_bad_rows_fails_the_refresh_naming_it():
    con = sql_layer.connect()
    sql_layer.load_config(con, cfg.DEFAULT, date(2026, 11, 24))
    con.execute(
        "create table profile_daily as select 'x' as platform, 'p' as profile_id, date '2026-11-24' as day, "
        "'giant' as tier, 5 as followers, 0.1 as engagement_rate_28d, 0 as interactions_28d, 0 as posts_28d, "
        "50.0 as rising_score, 0.5 as engagement_rate_percentile_28d, false as is_rising, "
        "['r'] as rising_reasons, false as is_suspicious, ['s'] as suspicious_reasons, "
        "timestamptz '2026-11-24 12:00:00+00' as followers_observed_at, 1 as followers_precision, "
        "false as followers_stale, null::BIGINT as follower_growth_28d, null::DOUBLE as growth_observed_days, "
        "null::BIGINT as follower_growth_14d, null::DOUBLE as growth_observed_days_14d, "
        "null::BIGINT as follower_growth_7d, null::DOUBLE as growth_observed_days_7d, "
        "null::INTEGER as signal_window_days, null::DOUBLE as follower_growth_pct_28d, "
        "null::DOUBLE as follower_growth_pct_14d "
        "from range(2)"
    )
    con.execute(
        "create view engagement_daily as select 'x' as platform, 'p' as profile_id, date '2026-11-24' as day, "
        "1 as likes, 1 as comments, 0 as shares, 0 as saves, 2 as interactions"
    )
    for _, name, sql in sql_layer.models_in_order("stg_engagement_daily"):
        con.execute(f"create temp view {name} as {sql}")
    con.execute(f"create temp view stg_run_params as {sql_layer.model_sql('staging', 'stg_run_params')}")
    with pytest.raises(sql_layer.AuditFailed) as failed:
        sql_layer.run_audits(con)
    assert "profile_daily_keys_unique" in str(failed.value)
    assert "profile_daily_tier_in_tier_table" in str(failed.value)
    assert "engagement_daily_interactions_add_up" not in str(failed.value)
