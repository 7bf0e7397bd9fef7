"""The `microradar` command: demo, generate, nightly, backfill, stream, query.

Argument errors and run failures end with exit status 1 (2 for usage) and one line on stderr.
Options are strict: no abbreviations, an unknown or mistyped option is an error (exit 2) with the
closest known one suggested. Beam pipeline options (--runner, --direct_num_workers, ...) of
`nightly`, `backfill`, `stream` and `demo` come after a `--`:
`microradar nightly --landing L -- --direct_num_workers=2`.
"""

from __future__ import annotations

import argparse
import difflib
import logging
import os
import shutil
import sys
from datetime import date
from pathlib import Path

DEMO_MARKER = ".microradar-demo"


class CliError(Exception):
    """A failure the user can fix; printed as one line."""


BEAM_COMMANDS = ("nightly", "backfill", "stream", "demo")  # take Beam pipeline options after `--`
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class Parser(argparse.ArgumentParser):
    """argparse, strict: no abbreviated options, unknown options refused with a suggestion, errors on one line."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str):  # one line, not usage + message
        self.exit(2, f"{self.prog}: error: {message}\n")

    def parse_known_args(self, args=None, namespace=None):
        # Each (sub)parser refuses what it does not know itself, so the suggestion comes from its own
        # options; unknown options first, as a missing required option is often a mistyped one.
        unknown = self._unknown_options(sys.argv[1:] if args is None else list(args))
        if unknown:
            self.error(self._unknown(unknown))
        namespace, extras = super().parse_known_args(args, namespace)
        if extras:
            self.error(self._unknown(extras))
        return namespace, extras

    def _unknown_options(self, args: list[str]) -> list[str]:
        """Option-like tokens before `--` (and before a subcommand's name) that this parser does not know."""
        commands = {
            name for a in self._actions if isinstance(a, argparse._SubParsersAction) for name in a.choices
        }
        unknown = []
        for token in args:
            if token == "--" or token in commands:
                break
            if token.startswith("-") and len(token) > 1 and not token.lstrip("-").replace(".", "").isdigit():
                if token.split("=", 1)[0] not in self._option_string_actions:
                    unknown.append(token)
        return unknown

    def _unknown(self, extras: list[str]) -> str:
        options = [o for action in self._actions for o in action.option_strings]
        first = next((e for e in extras if e.startswith("-") and e != "--"), extras[0])
        hint = ""
        if "--" in extras and self.prog.split()[-1] not in BEAM_COMMANDS:
            hint = f" (only {', '.join(BEAM_COMMANDS)} take Beam pipeline options after --)"
        elif first.startswith("-"):
            close = difflib.get_close_matches(first.split("=", 1)[0], options, n=1, cutoff=0.6)
            if close:
                hint = f" (did you mean {close[0]}?)"
            elif self.prog.split()[-1] in BEAM_COMMANDS:
                hint = " (Beam pipeline options go after --, e.g. -- --direct_num_workers=2)"
        return f"unrecognized arguments: {' '.join(extras)}{hint}"


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}") from None


def _existing_dir(value: str) -> Path:
    path = Path(value)
    if not path.is_dir():
        raise argparse.ArgumentTypeError(f"no such directory: {value}")
    return path


_LOG_LEVEL = "WARNING"  # --log-level


# The loggers that report a failed flow run, task run or Beam step with its traceback. The CLI
# reports the reason itself on one line, so below DEBUG their ERROR records are dropped (a filter on
# the logger objects, which Prefect's logging configuration keeps when it sets up its handlers).
FAILURE_LOGGERS = (
    "prefect.flow_runs",
    "prefect.task_runs",
    "apache_beam.runners.common",
    "apache_beam.runners.worker.sdk_worker",
)


def _no_failure_records(record: logging.LogRecord) -> bool:
    return record.levelno < logging.ERROR


def _quiet_prefect() -> None:
    """Prefect without a server: a temporary local one, telemetry off (PLATFORM.md); Prefect's and
    Beam's loggers at --log-level (default WARNING). Progress lines are the CLI's own (flows.progress)."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
    os.environ["PREFECT_LOGGING_LEVEL"] = _LOG_LEVEL
    logging.getLogger("apache_beam").setLevel(_LOG_LEVEL)
    if _LOG_LEVEL != "DEBUG" and not os.environ.get("MICRORADAR_DEBUG"):
        for name in FAILURE_LOGGERS:
            logging.getLogger(name).addFilter(_no_failure_records)


def _start_prefect_api() -> None:
    """Prefect's temporary API server boots while the command imports (flows/prefect_api.py)."""
    _quiet_prefect()
    from flows import prefect_api

    prefect_api.start_early()


def _wait_prefect_api() -> None:
    from flows import prefect_api

    prefect_api.wait_until_ready()


def cmd_generate(args) -> int:
    from tools.generator import generate_landing

    summary = generate_landing(
        Path(args.out),
        profiles=args.profiles,
        days=args.days,
        seed=args.seed,
        end_date=args.end_date,
        mode=args.mode,
    )
    print(f"landing directory: {summary.landing_dir}")
    print(f"ground truth:      {summary.ground_truth_path}")
    print(
        f"{summary.files_written} files, {summary.lines_written:,} lines, days {summary.start_date} .. {summary.end_date}"
    )
    return 0


def _run_nightly(
    landing_dir: Path,
    warehouse_dir: Path,
    as_of,
    allow_changed: bool,
    beam_args: list[str],
    full_refresh: bool = False,
    num_buckets: int | None = None,
    rehash: bool = False,
    config: dict | None = None,
) -> dict:
    _quiet_prefect()
    from flows.nightly import nightly

    _wait_prefect_api()
    warehouse_dir.mkdir(parents=True, exist_ok=True)
    return nightly(
        str(landing_dir),
        str(warehouse_dir),
        as_of=as_of,
        allow_changed=allow_changed,
        full_refresh=full_refresh,
        beam_args=beam_args,
        num_buckets=num_buckets,
        rehash=rehash,
        config=config,
    )


def _print_run(run: dict) -> None:
    from flows.run_report import format_top_rising

    c = run["counts"]
    print(f"run {run['run_id']}  as of {run['as_of']}")
    print(f"files: {run['files']['new']} new, {run['files']['already_ingested']} already ingested")
    if run["recomputed"]:
        print(
            f"lines read {c['lines_read']:,} = accepted {c['accepted']:,} + duplicates {c['duplicates']:,}"
            f" + rejected {c['rejected']:,} + blank {c['blank']:,}"
            f"  ({c['conflicting_duplicates']} conflicting duplicates)"
        )
        if c["rejected_by_reason"]:
            print("rejected by reason: " + ", ".join(f"{k} {v}" for k, v in c["rejected_by_reason"].items()))
    else:
        print("nothing new landed and the windows are current: nothing to do")
    print(f"\nTop rising micro influencers on {run['as_of']}:")
    print(format_top_rising(run["top_rising"]))
    print("\nOutputs:")
    for name, path in run["outputs"].items():
        print(f"  {name:<20} {path}")
    print(f"  {'run report':<20} {run['report_path']}")
    for w in run.get("warnings", []):  # freshness and volume checks (flows/tasks.py check_freshness)
        print(f"WARNING ({w['check']}): {w['message']}")


def cmd_nightly(args, beam_args: list[str]) -> int:
    _start_prefect_api()  # before anything imports Prefect: its settings are read at import
    from flows.tasks import NightWarnings

    try:
        run = _run_nightly(
            args.landing,
            Path(args.warehouse),
            args.as_of,
            args.allow_changed,
            beam_args,
            args.full_refresh,
            args.num_buckets,
            args.rehash,
            _config(args),
        )
    except NightWarnings as warned:  # committed and reported, but warned with fail_on_warning set
        _print_run(warned.report)
        print(f"microradar: warning: {warned}", file=sys.stderr)
        return EXIT_WARNINGS
    _print_run(run)
    return 0


# --- configuration and checks (flows/, schemas/config.py): --config, --fail-on-warning ----------
EXIT_WARNINGS = 3  # the night committed, but a freshness or volume check warned (--fail-on-warning)


def _config(args) -> dict:
    """The settings of `--config FILE` (defaults without it), with `--fail-on-warning` laid over."""
    from dataclasses import replace

    from schemas import config as cfg

    try:
        settings = cfg.load_toml(args.config) if args.config else cfg.DEFAULT
    except cfg.ConfigError as exc:
        raise CliError(str(exc)) from exc
    if getattr(args, "fail_on_warning", False):
        settings = replace(settings, checks=replace(settings.checks, fail_on_warning=True))
    return cfg.to_dict(settings)


def add_config_options(p, checks: bool) -> None:
    p.add_argument(
        "--config",
        metavar="FILE",
        default=None,
        help="a TOML configuration file (every setting and its default: docs/microradar.example.toml)",
    )
    if checks:
        p.add_argument(
            "--fail-on-warning",
            action="store_true",
            help=f"exit with status {EXIT_WARNINGS} when a freshness or volume check warns (after the "
            "night is committed); also `checks.fail_on_warning` in the config file",
        )


# --- end of configuration and checks ------------------------------------------------------------


def cmd_backfill(args, beam_args: list[str]) -> int:
    config = _config(args)
    if not (Path(args.warehouse) / "_meta" / "state.json").exists():
        raise CliError(f"no warehouse at {args.warehouse}: run `microradar nightly` first")
    _start_prefect_api()
    from flows.backfill import backfill

    _wait_prefect_api()
    result = backfill(
        str(args.warehouse), args.recompute_from, args.to_day, beam_args=beam_args, config=config
    )
    print(
        f"recomputed windows ending {result['from']} .. {result['to']} and the SQL layer from {result['from']}"
        f" ({result['durations_s']['windows']:.1f} s + {result['durations_s']['sql']:.1f} s)"
    )
    return 0


def cmd_demo(args, beam_args: list[str]) -> int:
    _start_prefect_api()  # it boots while the demo data is generated
    from tools.generator import generate_landing

    root = Path(args.dir)
    if root.exists():
        if not (root / DEMO_MARKER).exists():
            raise CliError(f"{root} exists and is not a microradar demo directory; choose another --dir")
        shutil.rmtree(root)
    root.mkdir(parents=True)
    (root / DEMO_MARKER).write_text("made by `microradar demo`; deleted by the next demo\n")
    print(
        f"[1/2] generating {args.profiles} profiles over {args.days} days into {root / 'landing'} ...",
        flush=True,
    )
    summary = generate_landing(root, profiles=args.profiles, days=args.days, seed=args.seed, mode=args.mode)
    print(f"      {summary.files_written} files, {summary.lines_written:,} lines", flush=True)
    print(
        "[2/2] running the nightly flow (Beam FnApiRunner, DuckDB, Prefect without a server) ...", flush=True
    )
    run = _run_nightly(summary.landing_dir, root / "warehouse", summary.end_date, False, beam_args)
    print()
    _print_run(run)
    print(f"  {'ground truth':<20} {summary.ground_truth_path}")
    print(
        f"\nAsk more: microradar query --warehouse {root / 'warehouse'} \"select * from rising_on(date '{run['as_of']}')\""
    )
    return 0


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {value}")
    return number


def _duration(value: str) -> int:
    from pipelines.streaming import parse_duration_s

    try:
        return parse_duration_s(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def cmd_stream(args, beam_args: list[str]) -> int:
    _quiet_prefect()  # for its logging filters: the stream itself does not use Prefect
    from flows.progress import progress
    from pipelines.streaming import run_stream

    print(
        f"streaming {args.landing} -> {args.warehouse}: allowed lateness {args.allowed_lateness} s, "
        f"out-of-orderness {args.out_of_orderness} s, polling every {args.poll_interval:g} s; "
        f"SIGTERM or Ctrl-C drains and stops (grace {args.grace_period} s)",
        flush=True,
    )
    run_stream(
        args.landing,
        args.warehouse,
        args.allowed_lateness,
        beam_args,
        args.poll_interval,
        stop_after_s=args.stop_after,
        progress=progress,
        out_of_orderness_s=args.out_of_orderness,
        grace_s=args.grace_period,
    )
    print("stopped", file=sys.stderr)
    return 0


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


# --- microradar import: platform exports to contract files (importers/, SPEC section 2) ---
def _add_import_parser(sub) -> None:
    import textwrap

    from importers import SOURCES

    def entry(name: str, text: str) -> str:
        return textwrap.fill(text, 100, initial_indent=f"  {name:24}", subsequent_indent=" " * 26)

    common = [
        ("--out DIR", "(required) landing directory the contract file is written to"),
        (
            "--observed-at TIME",
            "when the data was read: RFC 3339, YYYY-MM-DD or an HTTP Date; needed when "
            "the input has no retrieval time of its own (never 'now')",
        ),
        ("--json", "print the summary as JSON"),
        ("INPUT...", "files (.gz fine) or - for standard input"),
    ]
    lines = ["options of every source (they go after SOURCE):", *(entry(n, t) for n, t in common)]
    for s in SOURCES.values():
        lines += (
            [
                f"options of {s.name}:",
                *(entry(o.flag, ("(required) " if o.required else "") + o.help) for o in s.options),
            ]
            if s.options
            else []
        )
    p = sub.add_parser(
        "import",
        help="platform exports (X API, YouTube API, Bluesky, CSV) to contract events",
        description="Turn platform exports into contract v2 JSON Lines in the landing directory: "
        "microradar import SOURCE --out DIR [options] INPUT...",
        epilog="\n".join(lines),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sources = p.add_subparsers(dest="source", required=True, metavar="SOURCE", parser_class=Parser)
    for s in SOURCES.values():
        sp = sources.add_parser(s.name, help=s.help, description=s.help)
        sp.add_argument(
            "--out", required=True, metavar="DIR", help="landing directory the contract file is written to"
        )
        sp.add_argument(
            "--observed-at",
            metavar="TIME",
            help="when the data was read (RFC 3339, YYYY-MM-DD or an "
            "HTTP Date); needed when the input carries no retrieval time of its own",
        )
        sp.add_argument("--json", action="store_true", help="print the summary as JSON")
        for o in s.options:
            sp.add_argument(
                o.flag,
                required=o.required,
                type=o.type,
                help=o.help,
                choices=o.choices,
                action="append" if o.repeat else "store",
            )
        sp.add_argument("inputs", nargs="+", metavar="INPUT", help="files (.gz fine) or - for standard input")


def cmd_import(args) -> int:
    from importers import SOURCES, ImportRefused, run_import

    options = {o.dest: getattr(args, o.dest) for o in SOURCES[args.source].options}
    try:
        run_import(
            args.source,
            Path(args.out),
            args.inputs,
            observed_at=args.observed_at,
            json_summary=args.json,
            echo=True,
            **options,
        )
    except ImportRefused as exc:
        raise CliError(str(exc)) from None
    return 0


# --- end microradar import ---
# --- radar report (report/): `microradar report` --------------------------------------------
def cmd_report(args) -> int:
    """Write the radar report page of a warehouse: one self-contained HTML file."""
    from report.data import NoDataForDay
    from report.render import write_radar_report

    warehouse = Path(args.warehouse)
    if not (warehouse / "_meta" / "state.json").exists():
        raise CliError(f"no warehouse at {warehouse}: run `microradar nightly` first")
    try:
        out = write_radar_report(warehouse, Path(args.out) if args.out else None, args.day)
    except NoDataForDay as exc:
        raise CliError(str(exc)) from None
    print(f"radar report: {out}")
    return 0


def add_report_command(sub) -> None:
    p = sub.add_parser(
        "report",
        help="write the radar report: a self-contained HTML page of the rising "
        "micro influencers, tier movements and run health",
    )
    p.add_argument("--warehouse", default="warehouse", help="warehouse root (default ./warehouse)")
    p.add_argument("--out", default=None, help="HTML file to write (default WAREHOUSE/radar.html)")
    p.add_argument(
        "--day", type=_date, default=None, help="the report's day (default: the latest computed day)"
    )


# --- end of radar report ------------------------------------------------------------------------


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("microradar")
    except PackageNotFoundError:  # run from a source tree that was not installed
        return "unknown (not installed)"


def build_parser() -> Parser:
    parser = Parser(
        prog="microradar",
        description="Find rising micro influencers early.",
        epilog="Beam pipeline options of nightly, backfill, stream and demo go after --, e.g. "
        "microradar nightly --landing L -- --direct_num_workers=2",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    parser.add_argument(
        "--log-level",
        type=str.upper,
        choices=LOG_LEVELS,
        default="WARNING",
        help="level of Prefect's and Beam's loggers (default WARNING; INFO shows more)",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    p = sub.add_parser("demo", help="generate sample data, run the nightly flow, print the top rising")
    p.add_argument(
        "--dir", default="demo", help="demo directory (landing/ and warehouse/ inside; default ./demo)"
    )
    p.add_argument("--profiles", type=int, default=200)
    p.add_argument("--days", type=int, default=60)
    p.add_argument(
        "--mode",
        choices=["events", "observation", "mixed"],
        default="mixed",
        help="events: every like with its liker; observation: post counters and rounded, sparse follower counts only; mixed (default): YouTube observed, the other platforms as events",
    )
    p.add_argument("--seed", type=int, default=7)

    p = sub.add_parser("generate", help="write a sample landing directory and its ground truth")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--profiles", type=int, default=200)
    p.add_argument("--days", type=int, default=60)
    p.add_argument(
        "--mode",
        choices=["events", "observation", "mixed"],
        default="events",
        help="events (default): every like with its liker; observation: post counters and rounded, sparse follower counts only; mixed: YouTube observed, the other platforms as events",
    )
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--end-date", type=_date, default=None, help="last generated day (default: yesterday UTC)")

    p = sub.add_parser(
        "nightly",
        help="ingest what landed, recompute windows and the SQL layer; Beam pipeline options after --",
    )
    p.add_argument("--landing", required=True, type=_existing_dir, help="landing directory")
    p.add_argument("--warehouse", default="warehouse", help="warehouse root (default ./warehouse)")
    p.add_argument("--as-of", type=_date, default=None, help="last complete day (default: yesterday, UTC)")
    p.add_argument("--allow-changed", action="store_true", help="re-read landed files whose content changed")
    p.add_argument(
        "--rehash",
        action="store_true",
        help="hash every landed file to find changed ones, also those whose size and modification "
        "time are as ingested (by default their recorded hash is trusted)",
    )
    p.add_argument(
        "--full-refresh",
        action="store_true",
        help="rebuild every dataset from the whole landing directory, replacing the warehouse's",
    )
    p.add_argument(
        "--num-buckets",
        type=_positive_int,
        default=None,
        help="hash buckets of the Beam shuffles (default: one per 48 MB of new input, at least 2); "
        "memory follows the largest bucket; each partition gets a file per bucket",
    )
    add_config_options(p, checks=True)

    p = sub.add_parser(
        "backfill", help="recompute windows and the SQL layer for a date range from stored events"
    )
    p.add_argument("--warehouse", default="warehouse", help="warehouse root (default ./warehouse)")
    p.add_argument("--from", dest="recompute_from", required=True, type=_date, help="first window end day")
    p.add_argument(
        "--to", dest="to_day", required=True, type=_date, help="last window end day (capped at as-of)"
    )
    add_config_options(p, checks=False)

    p = sub.add_parser(
        "stream",
        help="the streaming pipeline: watch the landing directory and update windows "
        "as events arrive; Beam pipeline options after --",
    )
    p.add_argument("--landing", required=True, type=_existing_dir, help="landing directory")
    p.add_argument("--warehouse", default="warehouse", help="warehouse root (default ./warehouse)")
    p.add_argument(
        "--allowed-lateness",
        type=_duration,
        default=3 * 86_400,
        help="how late an event may arrive after its UTC day ends: 3d, 36h, 90m or seconds (default 3d)",
    )
    p.add_argument(
        "--poll-interval", type=float, default=10.0, help="seconds between landing scans (max 20; default 10)"
    )
    p.add_argument(
        "--stop-after",
        type=_duration,
        default=None,
        help="stop after this long, as on SIGTERM (default: run until SIGTERM or Ctrl-C)",
    )
    p.add_argument(
        "--out-of-orderness",
        type=_duration,
        default=3600,
        help="how far behind the latest event time seen the watermark stays, i.e. how long a day "
        "waits for stragglers before its first rows are written: 1h, 90m, 0 (default 1h)",
    )
    p.add_argument(
        "--grace-period",
        type=_duration,
        default=60,
        help="on SIGTERM/SIGINT, how long the drain may take before the process exits anyway "
        "(default 60s); a second signal exits at once",
    )

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
        type=_non_negative_int,
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

    _add_import_parser(sub)
    add_report_command(sub)

    for name, command in sub.choices.items():  # every subcommand, those added above included
        if name in BEAM_COMMANDS:
            command.usage = command.format_usage().removeprefix("usage: ").rstrip() + " [-- BEAM_OPTIONS]"
            command.epilog = (
                "Beam pipeline options go after --, e.g. -- --runner=FnApiRunner --direct_num_workers=2 "
                "--direct_running_mode=multi_processing"
            )
        command.add_argument(
            "--log-level",
            type=str.upper,
            choices=LOG_LEVELS,
            default=argparse.SUPPRESS,
            help="level of Prefect's and Beam's loggers (default WARNING; INFO shows more)",
        )
    return parser


def _non_negative_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if number < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more: {value}")
    return number


def _unknown_beam_options(beam_args: list[str]) -> list[str]:
    """Beam options no Beam options class defines (Beam itself only warns and drops them), each with
    the closest known one suggested."""
    if not beam_args:
        return []
    from apache_beam.options.pipeline_options import PipelineOptions

    beam_logger = logging.getLogger("apache_beam.options.pipeline_options")
    level = beam_logger.level
    beam_logger.setLevel(logging.ERROR)  # "Discarding unparseable args": said here, as an error
    try:
        options = PipelineOptions(beam_args)
        known = options.get_all_options(retain_unknown_options=False)
        unknown = [name for name in options.get_all_options(retain_unknown_options=True) if name not in known]
    finally:
        beam_logger.setLevel(level)
    described = []
    for name in unknown:
        close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
        described.append(f"--{name}" + (f" (did you mean --{close[0]}?)" if close else ""))
    return described


def parse(argv: list[str] | None = None) -> tuple[argparse.Namespace, list[str]]:
    """The arguments, and the Beam pipeline options: what follows the first `--` of a command that
    takes them. Nothing unknown is passed on: every option before `--` must be one of ours."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if "--" in argv:
        split = argv.index("--")
        head, beam_args = argv[:split], argv[split + 1 :]
        if any(token in BEAM_COMMANDS for token in head):
            args = parser.parse_args(head)
            if args.command in BEAM_COMMANDS:
                unknown = _unknown_beam_options(beam_args)
                if unknown:
                    parser.exit(
                        2,
                        f"microradar {args.command}: error: unrecognized Beam pipeline options after --: "
                        f"{' '.join(unknown)}\n",
                    )
                return args, beam_args
    args = parser.parse_args(argv)  # a `--` elsewhere is argparse's own (e.g. query -- "-- a comment")
    return args, []


def main(argv: list[str] | None = None) -> int:
    # Beam warns about missing GCP client libraries on import: harmless, and not ours to fix.
    logging.getLogger().addFilter(lambda record: "apitools not found" not in record.getMessage())
    global _LOG_LEVEL
    args, extra = parse(argv)
    _LOG_LEVEL = args.log_level
    try:
        if args.command in BEAM_COMMANDS:
            from flows.progress import terminal

            with terminal():  # a spinner and the step lines on a terminal, plain lines otherwise
                return _dispatch(args, extra)
        return _dispatch(args, extra)
    except CliError as exc:
        print(f"microradar: error: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:
        from flows.backfill import NothingToBackfill
        from flows.tasks import ChangedLandingFiles
        from storage.warehouse import WarehouseBusy

        if isinstance(exc, (ChangedLandingFiles, WarehouseBusy, NothingToBackfill, OSError)):
            print(f"microradar: error: {exc}", file=sys.stderr)
            return 1
        if os.environ.get("MICRORADAR_DEBUG"):
            raise
        # Beam wraps worker errors in its own; the user needs the original reason on one line.
        print(
            f"microradar: error: {_root_reason(exc)} (MICRORADAR_DEBUG=1 shows the traceback)",
            file=sys.stderr,
        )
        return 1


def _dispatch(args, extra: list[str]) -> int:
    if args.command == "generate":
        return cmd_generate(args)
    if args.command == "nightly":
        return cmd_nightly(args, extra)
    if args.command == "demo":
        return cmd_demo(args, extra)
    if args.command == "backfill":
        return cmd_backfill(args, extra)
    if args.command == "stream":
        return cmd_stream(args, extra)
    if args.command == "import":
        return cmd_import(args)
    if args.command == "report":
        return cmd_report(args)
    return cmd_query(args)


def _root_reason(exc: BaseException) -> str:
    """One line saying what went wrong: our own reason if one is in the chain, else the innermost cause's."""
    chain = [exc]
    while chain[-1].__cause__ is not None or chain[-1].__context__ is not None:
        chain.append(chain[-1].__cause__ or chain[-1].__context__)
    for error in chain:
        for line in str(error).splitlines():
            if "unreadable landing file" in line:
                return line[line.index("unreadable landing file") :].split(" [while running")[0].strip()
    text = str(chain[-1]).strip().splitlines()
    return f"{type(chain[-1]).__name__}: {text[0]}" if text else type(chain[-1]).__name__


if __name__ == "__main__":
    sys.exit(main())
