"""`microradar stream`: the streaming pipeline (pipelines/stream/), run until SIGTERM or Ctrl-C."""

from __future__ import annotations

import argparse
import sys

from microradar.commands import common
from microradar.commands.common import existing_dir


def duration(value: str) -> int:
    from pipelines.streaming import parse_duration_s

    try:
        return parse_duration_s(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def cmd_stream(args, beam_args: list[str]) -> int:
    common.quiet_prefect(args.log_level)  # for its logging filters: the stream itself does not use Prefect
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


def add_stream_parser(sub) -> None:
    p = sub.add_parser(
        "stream",
        help="the streaming pipeline: watch the landing directory and update windows "
        "as events arrive; Beam pipeline options after --",
    )
    p.add_argument("--landing", required=True, type=existing_dir, help="landing directory")
    p.add_argument("--warehouse", default="warehouse", help="warehouse root (default ./warehouse)")
    p.add_argument(
        "--allowed-lateness",
        type=duration,
        default=3 * 86_400,
        help="how late an event may arrive after its UTC day ends: 3d, 36h, 90m or seconds (default 3d)",
    )
    p.add_argument(
        "--poll-interval", type=float, default=10.0, help="seconds between landing scans (max 20; default 10)"
    )
    p.add_argument(
        "--stop-after",
        type=duration,
        default=None,
        help="stop after this long, as on SIGTERM (default: run until SIGTERM or Ctrl-C)",
    )
    p.add_argument(
        "--out-of-orderness",
        type=duration,
        default=3600,
        help="how far behind the latest event time seen the watermark stays, i.e. how long a day "
        "waits for stragglers before its first rows are written: 1h, 90m, 0 (default 1h)",
    )
    p.add_argument(
        "--grace-period",
        type=duration,
        default=60,
        help="on SIGTERM/SIGINT, how long the drain may take before the process exits anyway "
        "(default 60s); a second signal exits at once",
    )
