"""`microradar demo` and `microradar generate`: the sample data of tools/generator, alone or run
through the nightly flow. The only commands that use a developer tool."""

from __future__ import annotations

import shutil
from pathlib import Path

from microradar.commands import common
from microradar.commands.common import CliError, iso_date
from microradar.commands.nightly import print_run, run_nightly

DEMO_MARKER = ".microradar-demo"


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


def cmd_demo(args, beam_args: list[str]) -> int:
    common.start_prefect_api(args.log_level)  # it boots while the demo data is generated
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
    run = run_nightly(
        summary.landing_dir, root / "warehouse", summary.end_date, False, beam_args, log_level=args.log_level
    )
    print()
    print_run(run)
    print(f"  {'ground truth':<20} {summary.ground_truth_path}")
    print(
        f"\nAsk more: microradar query --warehouse {root / 'warehouse'} \"select * from rising_on(date '{run['as_of']}')\""
    )
    return 0


def add_demo_parser(sub) -> None:
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


def add_generate_parser(sub) -> None:
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
    p.add_argument(
        "--end-date", type=iso_date, default=None, help="last generated day (default: yesterday UTC)"
    )
