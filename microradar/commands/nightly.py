"""`microradar nightly` and `microradar backfill`: the two flows of flows/, and the run summary
printed after a night (the demo prints it too)."""

from __future__ import annotations

import sys
from pathlib import Path

from microradar.commands import common
from microradar.commands.common import CliError, existing_dir, iso_date
from microradar.commands.config import EXIT_WARNINGS, add_config_options, config_dict


def run_nightly(
    landing_dir: Path,
    warehouse_dir: Path,
    as_of,
    allow_changed: bool,
    beam_args: list[str],
    full_refresh: bool = False,
    num_buckets: int | None = None,
    rehash: bool = False,
    config: dict | None = None,
    *,
    log_level: str,
) -> dict:
    common.quiet_prefect(log_level)
    from flows.nightly import nightly

    common.wait_prefect_api()

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


def print_run(run: dict) -> None:
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
    for w in run.get("warnings", []):  # freshness and volume checks (flows/report_tasks.py check_freshness)
        print(f"WARNING ({w['check']}): {w['message']}")


def cmd_nightly(args, beam_args: list[str]) -> int:
    common.start_prefect_api(
        args.log_level
    )  # before anything imports Prefect: its settings are read at import
    from flows.report_tasks import NightWarnings

    try:
        run = run_nightly(
            args.landing,
            Path(args.warehouse),
            args.as_of,
            args.allow_changed,
            beam_args,
            args.full_refresh,
            args.num_buckets,
            args.rehash,
            config_dict(args),
            log_level=args.log_level,
        )
    except NightWarnings as warned:  # committed and reported, but warned with fail_on_warning set
        print_run(warned.report)
        print(f"microradar: warning: {warned}", file=sys.stderr)
        return EXIT_WARNINGS
    print_run(run)
    return 0


def cmd_backfill(args, beam_args: list[str]) -> int:
    config = config_dict(args)
    if not (Path(args.warehouse) / "_meta" / "state.json").exists():
        raise CliError(f"no warehouse at {args.warehouse}: run `microradar nightly` first")
    common.start_prefect_api(args.log_level)
    from flows.backfill import backfill

    common.wait_prefect_api()

    result = backfill(
        str(args.warehouse), args.recompute_from, args.to_day, beam_args=beam_args, config=config
    )
    print(
        f"recomputed windows ending {result['from']} .. {result['to']} and the SQL layer from {result['from']}"
        f" ({result['durations_s']['windows']:.1f} s + {result['durations_s']['sql']:.1f} s)"
    )
    return 0


def add_nightly_parser(sub) -> None:
    p = sub.add_parser(
        "nightly",
        help="ingest what landed, recompute windows and the SQL layer; Beam pipeline options after --",
    )
    p.add_argument("--landing", required=True, type=existing_dir, help="landing directory")
    p.add_argument("--warehouse", default="warehouse", help="warehouse root (default ./warehouse)")
    p.add_argument("--as-of", type=iso_date, default=None, help="last complete day (default: yesterday, UTC)")
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
        type=common.whole_number(at_least=1),
        default=None,
        help="hash buckets of the Beam shuffles (default: one per 48 MB of new input, at least one per "
        "--direct_num_workers); "
        "memory follows the largest bucket; each partition gets a file per bucket",
    )
    add_config_options(p, checks=True)


def add_backfill_parser(sub) -> None:
    p = sub.add_parser(
        "backfill", help="recompute windows and the SQL layer for a date range from stored events"
    )
    p.add_argument("--warehouse", default="warehouse", help="warehouse root (default ./warehouse)")
    p.add_argument("--from", dest="recompute_from", required=True, type=iso_date, help="first window end day")
    p.add_argument(
        "--to", dest="to_day", required=True, type=iso_date, help="last window end day (capped at as-of)"
    )
    add_config_options(p, checks=False)
