"""The DuckDB layer: views over the Parquet datasets, the SQL models, the analyst database.

Models live in `sql/` as plain SELECT files, one idea per CTE; this module only runs them
in layer order. The pipeline never holds the analyst database open: it builds a fresh file
in the staging directory, and the commit renames it into place.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tempfile
from datetime import date
from importlib import resources
from pathlib import Path

import duckdb
import pyarrow as pa

from schemas import config as cfg
from schemas.datasets import ALL_DATASETS, PROFILE_DAILY, VIEW_DATASETS, Dataset
from schemas.units import WINDOW_LENGTHS
from storage.duck import connect, literal
from storage.warehouse import SNAPSHOTS, Warehouse

# Models by layer (sql/<layer>/<name>.sql): staging types the datasets, intermediate builds the
# measures, marts are what users query. The order they run in follows from what each reads.
MODEL_LAYERS = ("staging", "intermediate", "marts")
MART = "profile_daily"
ANALYST_VIEWS = ("rising_micro_influencers", "tier_changes")
BUILD_TABLE = "microradar_build"  # the analyst database's definition digest (_analyst_db_definition)
# The analyst file's storage format, chosen so the current DuckDB command-line release opens it.
# duckdb 2.0 writes storage version 69 by default; pip `duckdb-cli` 1.5.6 (the current CLI release)
# reads only 64-68 and refuses such a file (PLATFORM.md). "v1.4.0" is the format of the 1.4 LTS
# line, which the 1.4 LTS and 1.5 clients both open; the file holds only views, macros and small
# configuration tables, so no newer storage feature is missed. tests/microradar/test_analyst_db.py
# opens the file with the real CLI binary.
ANALYST_DB_STORAGE_VERSION = "v1.4.0"


class AuditFailed(RuntimeError):
    """A data audit (sql/audits/) found rows breaking a rule: the refresh stops before publishing."""


def model_sql(layer: str, name: str) -> str:
    return resources.files("sql").joinpath(layer, f"{name}.sql").read_text()


def _sql_files(layer: str) -> dict[str, str]:
    folder = resources.files("sql").joinpath(layer)
    return {f.name.removesuffix(".sql"): f.read_text() for f in folder.iterdir() if f.name.endswith(".sql")}


def models_in_order(target: str = MART) -> list[tuple[str, str, str]]:
    """(layer, name, sql) of `target` and every model it reads, each after the models it reads:
    a model reads another when the other's name appears in its code (comments aside) as a word."""
    sql = {name: (layer, text) for layer in MODEL_LAYERS for name, text in _sql_files(layer).items()}
    code = {name: re.sub(r"--[^\n]*", "", text) for name, (_, text) in sql.items()}
    reads = {
        name: {other for other in sql if other != name and re.search(rf"\b{other}\b", code[name])}
        for name in sql
    }
    ordered: list[str] = []

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in path:
            raise ValueError(f"SQL models read each other in a circle: {' -> '.join(path + (name,))}")
        if name not in ordered:
            for other in sorted(reads[name]):
                visit(other, path + (name,))
            ordered.append(name)

    visit(target, ())
    return [(sql[name][0], name, sql[name][1]) for name in ordered]


def run_audits(con: duckdb.DuckDBPyConnection) -> None:
    """Runs every audit in sql/audits/ (a query returning the rows that break its rule); raises
    AuditFailed naming each failing audit and a sample of its rows."""
    failed = []
    for name, text in sorted(_sql_files("audits").items()):
        rows = con.execute(text).fetchmany(3)
        if rows:
            failed.append(f"{name}: e.g. {rows}")
    if failed:
        raise AuditFailed("data audits failed: " + "; ".join(failed))


def open_analyst_db(path: str | Path, read_only: bool = True) -> duckdb.DuckDBPyConnection:
    """The analyst file as an analyst opens it: its views' paths are relative to its folder, so that
    folder is the session's `file_search_path` (a session setting, not stored in the file)."""
    con = connect(path, read_only=read_only)
    con.execute("SET file_search_path = ?", [str(Path(path).resolve().parent)])
    return con


def _duck_type(t: pa.DataType) -> str:
    if pa.types.is_string(t):
        return "VARCHAR"
    if pa.types.is_timestamp(t):
        return "TIMESTAMPTZ"
    if pa.types.is_boolean(t):
        return "BOOLEAN"
    if pa.types.is_floating(t):
        return "DOUBLE"
    if pa.types.is_int16(t) or pa.types.is_int32(t):
        return "INTEGER"
    if pa.types.is_integer(t):
        return "BIGINT"
    if pa.types.is_date(t):
        return "DATE"
    if pa.types.is_list(t):
        return _duck_type(t.value_type) + "[]"
    raise TypeError(f"no DuckDB type for {t}")


def dataset_view_sql(
    wh: Warehouse, dataset: Dataset, union_by_name: bool = True, root: str | None = None
) -> str:
    """A view over a dataset's Parquet; an empty typed view before any file exists.

    `root` prefixes the glob: None for the warehouse's absolute path, "" for a path relative to the
    warehouse folder (the analyst file's views: they resolve against the reader's working directory
    or its `file_search_path`, so a moved or mounted warehouse still reads its own files).

    `union_by_name` unites the columns of every file, so that files written before a column was
    added still read (the new column null there), at the price of every file's footer at every
    query. The pipeline's own queries name the columns they read and skip it: a file missing one
    fails the query loudly, and the footers of a long history cost more than a night's days."""
    if wh.partition_files(dataset):
        base = (
            literal(wh.root.as_posix()) + "/"
            if root is None
            else (literal(root.rstrip("/")) + "/" if root else "")
        )
        glob = f"{base}{dataset.name}/*=*/*.parquet".replace("'", "''")
        return (
            f"select * from read_parquet('{glob}', hive_partitioning = true, "
            f"union_by_name = {str(union_by_name).lower()}, hive_types = {{'{dataset.partition}': {_partition_type(dataset)}}})"
        )
    return empty_view_sql(dataset)


def _partition_type(dataset: Dataset) -> str:
    return "VARCHAR" if pa.types.is_string(dataset.partition_type) else "DATE"


def empty_view_sql(dataset: Dataset) -> str:
    """A typed, empty SELECT with the dataset's columns (a view before the first partition exists)."""
    columns = [f"cast(null as {_duck_type(f.type)}) as {f.name}" for f in dataset.schema]
    columns.append(f"cast(null as {_partition_type(dataset)}) as {dataset.partition}")
    return "select " + ", ".join(columns) + " where false"


def load_config(
    con: duckdb.DuckDBPyConnection, config: cfg.Config, as_of: date | None, recompute_from: date | None = None
) -> None:
    """Configuration tables and run_params: the as-of day, and the first day the models must get
    right (`recompute_from`; null: every day). A night's late events change no earlier day."""
    for name, rows in cfg.sql_tables(config).items():
        con.register("cfg_rows", pa.Table.from_pylist(rows))
        con.execute(f"create or replace table {name} as select * from cfg_rows")
        con.unregister("cfg_rows")
    _set_run_params(con, as_of, recompute_from)


def _set_run_params(
    con: duckdb.DuckDBPyConnection, as_of: date | None, recompute_from: date | None = None
) -> None:
    con.execute(
        "create or replace table run_params as select ?::DATE as as_of, ?::DATE as recompute_from, "
        "?::INTEGER as max_window_days",
        [as_of, recompute_from, max(WINDOW_LENGTHS)],
    )


def create_dataset_views(
    con: duckdb.DuckDBPyConnection, wh: Warehouse, skip: tuple[str, ...] = (), union_by_name: bool = True
) -> None:
    for dataset in ALL_DATASETS:
        if dataset.name not in skip:
            con.execute(
                f"create or replace view {dataset.name} as {dataset_view_sql(wh, dataset, union_by_name)}"
            )


def analyst_objects_sql(wh: Warehouse, root: str | None) -> list[str]:
    """The statements that define what an analyst sees (beside the configuration tables): a view over
    every dataset (`root` as in `dataset_view_sql`: "" in the analyst file, the absolute path in a
    sandboxed `microradar query` session, where relative paths are refused), the analyst views and
    the macros. The one list both use."""
    statements = [
        f"create or replace view {d.name} as {dataset_view_sql(wh, d, root=root)}" for d in VIEW_DATASETS
    ]
    statements += [f"create or replace view {name} as {model_sql('marts', name)}" for name in ANALYST_VIEWS]
    statements.append(resources.files("sql").joinpath("macros.sql").read_text())
    return statements


def run_models(con: duckdb.DuckDBPyConnection) -> pa.Table:
    """The profile_daily mart and the models it reads, in dependency order, over whatever
    `engagement_daily`, `engagement_trailing` and `events` name on `con` (Parquet views in
    production, fixture tables in tests); then the audits. Staging models are views; each
    intermediate is materialised once: as views, the later models would re-read the Parquet
    every time they refer to one."""
    for layer, name, sql in models_in_order():
        kind = "view" if layer == "staging" else "table"
        con.execute(f"create or replace temp {kind} {name} as {sql}")
    run_audits(con)
    result = con.sql(f"select * from {MART}").to_arrow_table()
    body = result.select(PROFILE_DAILY.schema.names).cast(PROFILE_DAILY.schema)
    return body.append_column("day", result["day"].cast(pa.date32()))


def compute_profile_daily(
    wh: Warehouse, as_of: date, config: cfg.Config = cfg.DEFAULT, recompute_from: date | None = None
) -> pa.Table:
    """profile_daily over the published datasets: the rows of days from `recompute_from` on (all days if None)."""
    con = connect()
    try:
        load_config(con, config, as_of, recompute_from)
        create_dataset_views(con, wh, skip=(PROFILE_DAILY.name,), union_by_name=False)
        return run_models(con)
    finally:
        con.close()


def _analyst_db_definition(wh: Warehouse, config: cfg.Config, root: str = "") -> str:
    """A digest of everything in the analyst database but the as-of day: the DuckDB version, the
    dataset views and schemas, the analyst views, the macros and the configuration."""
    parts = [
        duckdb.__version__,
        ANALYST_DB_STORAGE_VERSION,
        json.dumps(cfg.sql_tables(config), sort_keys=True, default=str),
    ]
    parts += analyst_objects_sql(wh, root=root)
    parts += [str(d.schema) for d in VIEW_DATASETS]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def _reuse_published(wh: Warehouse, path: Path, definition: str, as_of: date | None) -> bool:
    """Copies the published analyst database to `path` and sets its as-of day, if its definition
    is `definition`. False (and nothing at `path`) otherwise."""
    if not wh.duckdb_path.exists():
        return False
    shutil.copyfile(wh.duckdb_path, path)
    try:
        con = connect(path)
    except duckdb.Error:  # not a database we can open: build afresh
        path.unlink()
        return False
    try:
        found = con.execute(f"select definition from {BUILD_TABLE}").fetchall()
        same = found == [(definition,)]
        if same:
            _set_run_params(con, as_of)
    except duckdb.CatalogException:  # built before the digest was kept
        same = False
    finally:
        con.close()
    if not same:
        path.unlink()
    return same


def build_analyst_db(
    wh: Warehouse,
    path: Path,
    as_of: date | None,
    config: cfg.Config = cfg.DEFAULT,
    snapshot: str | None = None,
) -> None:
    """The analyst database at `path` (_build_analyst_db); with `snapshot`, its dataset views read
    that snapshot of the published files (Warehouse.snapshot: one night across datasets, #19 item
    10), by paths relative to the warehouse folder. DuckDB cannot write a database whose path holds
    `?` (it misplaces the write-ahead log's name), so such a file is built in a temporary folder and
    moved to `path`; readers open it read-only, which works (#19 item 6)."""
    if "?" not in str(path):
        return _build_analyst_db(wh, path, as_of, config, snapshot)
    with tempfile.TemporaryDirectory(prefix="microradar-db-") as tmp:
        _build_analyst_db(wh, Path(tmp) / path.name, as_of, config, snapshot)
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(Path(tmp) / path.name, path)


def _views_source(wh: Warehouse, snapshot: str | None) -> tuple[Warehouse, str]:
    """(the Warehouse whose files the dataset views read, their folder relative to the warehouse's)."""
    if not snapshot:
        return wh, ""
    relative = f"{SNAPSHOTS}/{snapshot}"
    return Warehouse(wh.root / relative), relative


def _build_analyst_db(
    wh: Warehouse,
    path: Path,
    as_of: date | None,
    config: cfg.Config = cfg.DEFAULT,
    snapshot: str | None = None,
) -> None:
    """The analyst database at `path`: views over every dataset, the configuration, analyst views and
    macros. A copy of the published one when only the as-of day differs (its views read the files
    found at query time); built afresh otherwise, since creating the views reads every file's footer."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    source, relative = _views_source(wh, snapshot)
    definition = _analyst_db_definition(source, config, relative)
    if _reuse_published(wh, path, definition, as_of):
        return
    con = connect()
    try:
        # Creating a view binds it (reads the files' footers): the relative paths resolve here.
        con.execute("SET file_search_path = ?", [str(wh.root)])
        con.execute(f"ATTACH ? AS analyst (STORAGE_VERSION '{ANALYST_DB_STORAGE_VERSION}')", [str(path)])
        con.execute("USE analyst")
        load_config(con, config, as_of)
        for statement in analyst_objects_sql(source, root=relative):
            con.execute(statement)
        con.execute(f"create table {BUILD_TABLE} as select ? as definition", [definition])
        con.execute("USE memory")
        con.execute("DETACH analyst")
    finally:
        con.close()


def analyst_session(wh: Warehouse, sandbox: bool = True) -> duckdb.DuckDBPyConnection:
    """An in-memory session with what the analyst file holds: its configuration tables (copied from
    the published file), and the dataset views, analyst views and macros over ABSOLUTE paths (a
    sandboxed session refuses relative ones). With `sandbox`, the session then reads the warehouse's
    files and nothing else: external access off but for the warehouse folder, no extension
    installed or loaded, the configuration locked (PLATFORM.md)."""
    con = connect()
    try:
        con.execute("ATTACH ? AS published (READ_ONLY)", [str(wh.duckdb_path)])
        tables = [
            r[0]
            for r in con.execute(
                "select table_name from duckdb_tables() where database_name = 'published' and schema_name = 'main'"
            ).fetchall()
        ]
        for table in tables:
            con.execute(f'create table "{table}" as select * from published.main."{table}"')
        con.execute("DETACH published")
        # The snapshot the published file's views read (one night across datasets), over absolute paths.
        source, _ = _views_source(wh, wh.read_state().get("snapshot"))
        for statement in analyst_objects_sql(source, root=None):
            con.execute(statement)
        if sandbox:
            root = wh.root.as_posix().rstrip("/") + "/"
            con.execute("SET allowed_directories = [?]", [root])
            con.execute("SET enable_external_access = false")
            con.execute("SET autoinstall_known_extensions = false")
            con.execute("SET autoload_known_extensions = false")
            con.execute("SET lock_configuration = true")
    except BaseException:
        con.close()
        raise
    return con


def top_rising(wh: Warehouse, day: date, limit: int) -> list[dict]:
    """The best rising profiles of `day` across platforms, by score, from the published gold table."""
    con = connect()
    try:
        create_dataset_views(con, wh, union_by_name=False)
        cursor = con.execute(
            """
            select platform, profile_id, followers, tier, rising_score, rising_rank, rising_reasons
            from profile_daily
            where day = ? and is_rising
            order by rising_score desc, platform, profile_id
            limit ?
            """,
            [day, limit],
        )
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]
    finally:
        con.close()
