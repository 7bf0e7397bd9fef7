"""Spark reads the warehouse as the README says (`spark.read.parquet("warehouse/<dataset>")`): every
dataset, every column type the project writes, partition columns typed from the directory names
(dates as DateType, platforms as strings), and the same row counts as the analyst database's views.

A local SparkSession (`local[1]`, UI off, loopback only) on the machine's Java; pyspark ships its
jars, so nothing is downloaded. `make test` installs Java when it is missing."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime, timedelta

import pyarrow as pa
import pytest

from schemas.datasets import VIEW_DATASETS, Dataset
from storage import sql_layer
from storage.parquet import write_parquet
from storage.warehouse import Warehouse

pyspark_sql = pytest.importorskip("pyspark.sql")
if shutil.which("java") is None:
    pytest.skip("no Java: apt-get install default-jre-headless (`make test` does)", allow_module_level=True)

AS_OF = date(2026, 11, 2)
PLATFORMS = ("instagram", "tiktok")


def _values(field: pa.Field, n: int, salt: int) -> pa.Array:
    """`n` values of the field's type, none null (Spark must read each type, not skip nulls)."""
    t = field.type
    if pa.types.is_string(t):
        values = [f"{field.name}-{salt}-{i}" for i in range(n)]
    elif pa.types.is_boolean(t):
        values = [i % 2 == 0 for i in range(n)]
    elif pa.types.is_integer(t):
        values = [salt * 10 + i for i in range(n)]
    elif pa.types.is_floating(t):
        values = [i + 0.5 for i in range(n)]
    elif pa.types.is_timestamp(t):
        values = [datetime(2026, 11, 1, 23, 30, tzinfo=UTC) + timedelta(hours=i) for i in range(n)]
    elif pa.types.is_list(t):
        values = [["a", "b,c"][: i % 3] for i in range(n)]
    else:
        raise AssertionError(f"a type the test does not know yet: {t} ({field.name})")
    return pa.array(values, t)


def _partitions(dataset: Dataset) -> list[str]:
    if pa.types.is_string(dataset.partition_type):
        return list(PLATFORMS)
    return [(AS_OF - timedelta(days=1)).isoformat(), AS_OF.isoformat()]


@pytest.fixture(scope="module")
def wh(tmp_path_factory):
    """Every dataset (the stream's too): two partitions of a few rows each, written by the project's
    one Parquet writer, and the analyst database over them."""
    wh = Warehouse.at(tmp_path_factory.mktemp("spark") / "warehouse")
    for dataset in VIEW_DATASETS:
        for salt, value in enumerate(_partitions(dataset), start=1):
            rows = 2 + salt
            table = pa.Table.from_arrays(
                [_values(f, rows, salt) for f in dataset.schema], schema=dataset.schema
            )
            part = wh.dataset_dir(dataset) / f"{dataset.partition}={value}"
            part.mkdir(parents=True)
            write_parquet(table, part / "part-r1.parquet")
    sql_layer.build_analyst_db(wh, wh.duckdb_path, AS_OF)
    return wh


@pytest.fixture(scope="module")
def spark():
    session = (
        pyspark_sql.SparkSession.builder.master("local[1]")
        .appName("microradar-readers")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "1")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def frames(wh, spark):
    """Each dataset read once, as the README says (Spark lists the files and infers the schema here)."""
    return {d.name: spark.read.parquet(str(wh.dataset_dir(d))) for d in VIEW_DATASETS}


def duckdb_counts(wh: Warehouse) -> dict[str, int]:
    con = sql_layer.open_analyst_db(wh.duckdb_path)
    try:
        return {d.name: con.execute(f"select count(*) from {d.name}").fetchone()[0] for d in VIEW_DATASETS}
    finally:
        con.close()


def test_spark_reads_every_dataset_with_the_analyst_databases_row_counts(wh, frames):
    counts = {name: frame.count() for name, frame in frames.items()}
    assert counts == duckdb_counts(wh)
    assert all(n == 7 for n in counts.values())  # 3 + 4 rows: every file was read


def test_spark_types_the_partition_columns_from_the_directory_names(frames):
    types = pyspark_sql.types
    for dataset in VIEW_DATASETS:
        frame = frames[dataset.name]
        expected = types.StringType() if pa.types.is_string(dataset.partition_type) else types.DateType()
        assert frame.schema[dataset.partition].dataType == expected, dataset.name
        values = sorted({r[0] for r in frame.select(dataset.partition).collect()})
        written = _partitions(dataset)
        assert values == (
            written if expected == types.StringType() else [date.fromisoformat(v) for v in written]
        )


def test_spark_reads_timestamps_in_utc_and_lists_as_arrays(frames):
    types = pyspark_sql.types
    frame = frames["events"]
    assert frame.schema["event_time"].dataType == types.TimestampType()  # an instant, not timestamp_ntz
    assert frame.schema["hashtags"].dataType == types.ArrayType(types.StringType(), True)
    first = (
        frame.where("event_date = date '2026-11-01'")
        .orderBy("event_time")
        .selectExpr(
            "date_format(event_time, 'yyyy-MM-dd HH:mm') as utc", "unix_seconds(event_time) as s", "hashtags"
        )
        .first()
    )
    written = datetime(2026, 11, 1, 23, 30, tzinfo=UTC)  # the first row of _values
    assert (first["utc"], first["s"]) == ("2026-11-01 23:30", int(written.timestamp()))
    assert first["hashtags"] == []
