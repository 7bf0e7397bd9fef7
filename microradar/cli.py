"""The `microradar` command: builds the strict parser from the subcommands of microradar/commands/
(demo, generate, nightly, backfill, stream, query, import, report) and dispatches to them.

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
import sys

from microradar.commands import demo, import_, nightly, query, report, stream
from microradar.commands.common import CliError

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

    demo.add_demo_parser(sub)
    demo.add_generate_parser(sub)
    nightly.add_nightly_parser(sub)
    nightly.add_backfill_parser(sub)
    stream.add_stream_parser(sub)
    query.add_query_parser(sub)
    import_.add_import_parser(sub)
    report.add_report_parser(sub)

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
    args, extra = parse(argv)
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
        from flows.landing_tasks import ChangedLandingFiles
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


# Each subcommand's function; those of BEAM_COMMANDS also take the Beam pipeline options.
COMMANDS = {
    "demo": demo.cmd_demo,
    "generate": demo.cmd_generate,
    "nightly": nightly.cmd_nightly,
    "backfill": nightly.cmd_backfill,
    "stream": stream.cmd_stream,
    "query": query.cmd_query,
    "import": import_.cmd_import,
    "report": report.cmd_report,
}


def _dispatch(args, extra: list[str]) -> int:
    if args.command in BEAM_COMMANDS:
        return COMMANDS[args.command](args, extra)
    return COMMANDS[args.command](args)


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
