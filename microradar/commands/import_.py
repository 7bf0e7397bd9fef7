"""`microradar import SOURCE`: platform exports (importers/) to contract files in a landing
directory (SPEC section 2). Named `import_` as `import` is a Python keyword."""

from __future__ import annotations

import argparse
from pathlib import Path

from microradar.commands.common import CliError


def add_import_parser(sub) -> None:
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
    # The sources parse as strictly as the commands: their parser is cli.py's strict one, as p is.
    sources = p.add_subparsers(dest="source", required=True, metavar="SOURCE", parser_class=type(p))
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
