"""`microradar report`: the radar report page (report/) of a warehouse, one self-contained HTML file."""

from __future__ import annotations

from pathlib import Path

from microradar.commands.common import CliError, iso_date


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


def add_report_parser(sub) -> None:
    p = sub.add_parser(
        "report",
        help="write the radar report: a self-contained HTML page of the rising "
        "micro influencers, tier movements and run health",
    )
    p.add_argument("--warehouse", default="warehouse", help="warehouse root (default ./warehouse)")
    p.add_argument("--out", default=None, help="HTML file to write (default WAREHOUSE/radar.html)")
    p.add_argument(
        "--day", type=iso_date, default=None, help="the report's day (default: the latest computed day)"
    )
