"""`microradar query`: one SQL statement against the warehouse views, run once, written by Python.

- Sandboxed by default (`sql_layer.analyst_session`): the session reads the warehouse's files and
  nothing else, installs and attaches nothing, and its configuration is locked; before anything runs,
  `duckdb.extract_statements` lets through one read statement only (SELECT and its forms: WITH, FROM,
  VALUES, DESCRIBE, SHOW, SUMMARIZE; and EXPLAIN). `unsafe=True` lifts both for a trusted analyst
  (several statements: the last one's result is written).
- The statement runs once; its Arrow batches are written here in Python (pyarrow CSV and Parquet
  writers, orjson), so the output path is data, never SQL text: any character in it is fine.
- Output goes to stdout unless `output` names a file (`-` is stdout too). Parquet is binary: it
  goes to stdout only when stdout is not a terminal (a pipe or a redirect), else it is refused.
- CSV: quoted where needed; nested values (lists, structs, maps) are JSON in one quoted field. JSON: one object per line
  (JSON Lines), lists as arrays. Table: the first `max_rows` rows, and a note when there are more.
"""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path
from typing import BinaryIO

import duckdb
import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from storage import sql_layer
from storage.warehouse import Warehouse

FORMATS = ("table", "csv", "json", "parquet")
READ_STATEMENTS = {"SELECT", "EXPLAIN"}
DEFAULT_MAX_ROWS = 40
MAX_CELL = 48  # characters of a table cell; longer values are cut with an ellipsis


class QueryError(Exception):
    """A query the command refuses or cannot run, with a one-line reason."""


def statements_to_run(sql: str, unsafe: bool) -> list[str]:
    """The statements of `sql` (a trailing `;` is fine); in the sandbox, exactly one read statement."""
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise QueryError(_one_line(exc)) from None
    if not statements:
        raise QueryError("no SQL statement given")
    if unsafe:
        return [s.query for s in statements]
    if len(statements) > 1:
        raise QueryError(
            f"query runs one statement, got {len(statements)} (--unsafe runs several, for a trusted analyst)"
        )
    kind = statements[0].type.name
    if kind not in READ_STATEMENTS:
        kind = statements[0].query.split()[0].upper() if kind == "LOAD" else kind  # INSTALL parses as LOAD
        raise QueryError(
            f"query runs read statements only (SELECT, WITH, FROM, VALUES, DESCRIBE, SUMMARIZE, "
            f"EXPLAIN), not {kind} (--unsafe lifts this for a trusted analyst)"
        )
    return [statements[0].query]


def _one_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def run(
    warehouse: str | Path,
    sql: str,
    fmt: str = "table",
    output: str | None = None,
    max_rows: int = DEFAULT_MAX_ROWS,
    unsafe: bool = False,
    stdout=None,
) -> str | None:
    """Runs `sql` once and writes its result; returns "wrote FILE" with `output`, else None."""
    stdout = stdout or sys.stdout
    to_stdout = output in (None, "-")
    if fmt == "parquet" and to_stdout and _isatty(stdout):
        raise QueryError(
            "Parquet is binary: name a file with --output FILE, or redirect stdout (> FILE or | ...)"
        )
    statements = statements_to_run(sql, unsafe)
    wh = Warehouse.at(warehouse)
    if not wh.duckdb_path.exists():
        raise QueryError(f"no warehouse database at {wh.duckdb_path}: run `microradar nightly` first")
    try:
        con = sql_layer.analyst_session(wh, sandbox=not unsafe)
    except duckdb.Error as exc:
        raise QueryError(_one_line(exc)) from None
    try:
        for statement in statements[:-1]:
            con.execute(statement)
        relation = con.sql(statements[-1])
        if relation is None:  # --unsafe: the last statement returned nothing
            return None
        reader = relation.to_arrow_reader()
        if to_stdout:
            _write(reader, fmt, max_rows, stdout, text_stdout=True)
            return None
        target = Path(output)
        try:
            with open(target, "wb") as sink:
                _write(reader, fmt, max_rows, sink, text_stdout=False)
        except BaseException:
            target.unlink(missing_ok=True)
            raise
        return f"wrote {target}"
    except duckdb.Error as exc:
        raise QueryError(_one_line(exc)) from None
    finally:
        con.close()


def _isatty(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _binary(stream, text_stdout: bool) -> BinaryIO:
    if not text_stdout:
        return stream
    stream.flush()
    return stream.buffer


def _write(reader: pa.RecordBatchReader, fmt: str, max_rows: int, sink, text_stdout: bool) -> None:
    if fmt == "table":
        text = render_table(reader, max_rows)
        if text_stdout:
            sink.write(text)
        else:
            sink.write(text.encode())
        return
    binary = _binary(sink, text_stdout)
    if fmt == "csv":
        write_csv(reader, binary)
    elif fmt == "json":
        write_json_lines(reader, binary)
    elif fmt == "parquet":
        write_parquet(reader, binary)
    else:
        raise QueryError(f"unknown format {fmt!r}")
    binary.flush()


# --- formats -------------------------------------------------------------------------------------


def _json_default(value):
    return str(value)  # Decimal, timedelta, intervals, bytes: their text


def _json_text(value) -> str | None:
    if value is None:
        return None
    return orjson.dumps(value, default=_json_default, option=orjson.OPT_NON_STR_KEYS).decode()


def _csv_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict, tuple)):
        return _json_text(value)
    return str(value)


def write_csv(reader: pa.RecordBatchReader, sink: BinaryIO) -> None:
    """RFC 4180 CSV with a header; quotes only where needed; NULL is an empty field; nested values
    (lists, structs, maps) are JSON in one field."""
    text = io.TextIOWrapper(sink, encoding="utf-8", newline="", write_through=True)
    try:
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(reader.schema.names)
        for batch in reader:
            columns = [[_csv_text(v) for v in column.to_pylist()] for column in batch.columns]
            writer.writerows(zip(*columns))
        text.flush()
    finally:
        text.detach()  # the caller owns `sink`


def write_json_lines(reader: pa.RecordBatchReader, sink: BinaryIO) -> None:
    for batch in reader:
        for row in batch.to_pylist():
            sink.write(orjson.dumps(row, default=_json_default, option=orjson.OPT_NON_STR_KEYS) + b"\n")


def write_parquet(reader: pa.RecordBatchReader, sink: BinaryIO) -> None:
    with pq.ParquetWriter(pa.PythonFile(sink, mode="w"), reader.schema, compression="zstd") as writer:
        for batch in reader:
            writer.write_batch(batch)


def _cell(value) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, (list, dict, tuple)):
        return _json_text(value)
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def render_table(reader: pa.RecordBatchReader, max_rows: int) -> str:
    """The first `max_rows` rows (0: all) as an aligned text table, with the total row count and a
    note saying how to see what was left out (rows or long values)."""
    names = reader.schema.names
    numeric = [
        pa.types.is_integer(f.type) or pa.types.is_floating(f.type) or pa.types.is_decimal(f.type)
        for f in reader.schema
    ]
    rows: list[list[str]] = []
    total = 0
    for batch in reader:
        keep = batch.num_rows if max_rows == 0 else max(0, min(batch.num_rows, max_rows - len(rows)))
        if keep:
            columns = [
                column.to_pylist() for column in batch.slice(0, keep).columns
            ]  # by position: names may repeat
            rows += [[_cell(v) for v in values] for values in zip(*columns)]
        total += batch.num_rows
    cut = False
    for row in rows:
        for i, value in enumerate(row):
            if len(value) > MAX_CELL:
                row[i] = value[: MAX_CELL - 1] + "…"
                cut = True
    widths = [max([len(n)] + [len(r[i]) for r in rows]) for i, n in enumerate(names)]

    def line(values):
        return "  ".join(
            v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric)
        ).rstrip()

    out = [line(names), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in rows]
    shown = len(rows)
    if shown < total:
        out.append(
            f"({shown:,} of {total:,} rows shown: --max-rows N shows more, --max-rows 0 all, "
            f"--format csv or json every row)"
        )
    else:
        out.append(f"({total:,} row{'s' if total != 1 else ''})")
    if cut:
        out.append(
            f"(values longer than {MAX_CELL} characters are cut with …: --format csv or json shows them whole)"
        )
    return "\n".join(out) + "\n"
