"""The Parquet datasets read as the README says, by pandas, pyarrow and polars: the partition
column (`day`, `event_date`, ...) comes back as a date, not as strings or a category."""

from __future__ import annotations

from datetime import date

import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.dataset as ds
import pytest

from tests.storage.test_analyst_db import make_warehouse

# The README's reader option, verbatim: Hive partition values are typed by a schema.
README_PARTITIONING = ds.partitioning(pa.schema([("day", pa.date32())]), flavor="hive")


@pytest.fixture(scope="module")
def wh(tmp_path_factory):
    return make_warehouse(tmp_path_factory.mktemp("readers") / "warehouse")


def test_pyarrow_with_the_readme_partitioning_gives_date32(wh):
    table = ds.dataset(wh.root / "engagement_daily", partitioning=README_PARTITIONING).to_table()
    assert table.schema.field("day").type == pa.date32()
    assert sorted(table["day"].to_pylist()) == [date(2026, 11, 1), date(2026, 11, 2)]


def test_pyarrow_without_it_gives_strings_which_is_why_the_readme_names_it(wh):
    assert (
        ds.dataset(wh.root / "engagement_daily", partitioning="hive").schema.field("day").type == pa.string()
    )


def test_pandas_with_the_readme_partitioning_gives_dates(wh):
    frame = pd.read_parquet(wh.root / "engagement_daily", partitioning=README_PARTITIONING)
    assert sorted(frame["day"]) == [date(2026, 11, 1), date(2026, 11, 2)]
    assert all(type(d) is date for d in frame["day"])
    typed = pd.read_parquet(
        wh.root / "engagement_daily", partitioning=README_PARTITIONING, dtype_backend="pyarrow"
    )
    assert str(typed["day"].dtype) == "date32[day][pyarrow]"


def test_pandas_events_by_event_date(wh):
    partitioning = ds.partitioning(pa.schema([("event_date", pa.date32())]), flavor="hive")
    frame = pd.read_parquet(wh.root / "events", partitioning=partitioning, dtype_backend="pyarrow")
    assert str(frame["event_date"].dtype) == "date32[day][pyarrow]" and list(frame["hashtags"][0]) == [
        "a",
        "b,c",
        'd"e',
    ]


def test_polars_types_the_partition_column_itself(wh):
    frame = pl.scan_parquet(f"{wh.root}/engagement_daily/**/*.parquet", hive_partitioning=True).collect()
    assert frame.schema["day"] == pl.Date
    assert sorted(frame["day"].to_list()) == [date(2026, 11, 1), date(2026, 11, 2)]
