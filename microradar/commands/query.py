"""`microradar query`: one read-only SQL statement against the warehouse views; the sandbox itself
is microradar/query.py."""

from __future__ import annotations

import os
import sys

from microradar.commands import common
from microradar.commands.common import CliError


def cmd_query(args) -> int:
    from microradar import query

    try:
        note = query.run(args.warehouse, args.sql, args.format, args.output, args.max_rows, args.unsafe)
    except query.QueryError as exc:
        raise CliError(str(exc)) from None
    except BrokenPipeError:  # `| head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    if note:
        print(note)  # only with --output: stdout holds no data then
    return 0


def add_query_parser(sub) -> None:
    p = sub.add_parser(
        "query",
        help="run one read-only SQL statement against the warehouse views (sandboxed)",
        description="Runs one SQL statement (a trailing ; is fine) against the warehouse views, "
        "once, and prints the result to stdout, or writes it to --output. Sandboxed: "
        "the session reads the warehouse's files and nothing else, writes nothing, "
        "attaches and installs nothing; only a read statement (SELECT, WITH, FROM, "
        "VALUES, DESCRIBE, SUMMARIZE, EXPLAIN) runs.",
    )
    p.add_argument("--warehouse", default="warehouse", help="warehouse root (default ./warehouse)")
    p.add_argument(
        "--format",
        choices=["table", "csv", "json", "parquet"],
        default="table",
        help="table (default), csv (lists as JSON in one field), json (JSON Lines: one object per "
        "row, lists as arrays) or parquet (binary: needs --output or a redirected stdout)",
    )
    p.add_argument(
        "--output", metavar="FILE", help="write the result to FILE instead of stdout (- is stdout)"
    )
    p.add_argument(
        "--max-rows",
        type=common.whole_number(at_least=0),
        default=40,
        help="rows the table format shows (default 40, 0 for all); a note says when rows are left out",
    )
    p.add_argument(
        "--unsafe",
        action="store_true",
        help="lift the sandbox, for a trusted analyst: any statements, files outside the warehouse, "
        "COPY, ATTACH, INSTALL; the last statement's result is written",
    )
    p.add_argument(
        "sql",
        help="SQL; views: events, engagement_daily, engagement_trailing, profile_daily, rejected, "
        "stream_too_late, rising_micro_influencers, tier_changes; macros: rising_on(day), ...",
    )
