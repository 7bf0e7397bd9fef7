"""The radar report as one self-contained HTML page: Jinja2 template, inline CSS, inline SVG charts.

No script, no font, no image is fetched: the page reads the same offline. The only time on it is
the run's own (from the run report); rendering the same warehouse twice gives the same bytes.
"""

from __future__ import annotations

import os
import tempfile
from datetime import date
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from report import charts, formats
from report.data import DEFAULT_WEEKS, ReportData, gather

STEP_ORDER = (
    "plan",
    "ingest",
    "lookup",
    "windows",
    "commit",
    "sql",
)  # the nightly flow's steps, in run order


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("report", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        int=formats.fmt_int,
        change=formats.fmt_change,
        rate=formats.fmt_rate,
        decimal=formats.fmt_decimal,
        seconds=formats.fmt_seconds,
        day=formats.fmt_day,
        moment=formats.fmt_moment,
        reason=formats.fmt_reason,
        reject=formats.fmt_reject,
    )
    return env


def _share_bar(value: float, total: float) -> int:
    """Width in percent of a bar inside a table cell."""
    return 0 if not total else max(1, round(100 * value / total))


def render(data: ReportData) -> str:
    """The page for `data`, as text."""
    cards = []
    for i, row in enumerate(data.top, 1):
        key = (row["platform"], row["profile_id"])
        series = data.series.get(key, [])
        period = f"{formats.fmt_day(data.since)} – {formats.fmt_day(data.day)}"
        label = f"{row['profile_id']} on {row['platform']}: followers and interactions per day, {period}"
        chart = charts.growth_chart(series, f"growth-{i}", period, label) if series else None
        cards.append({"row": row, "chart": chart, "position": i})
    run = data.run
    durations = []
    if run:
        recorded = {k: v for k, v in (run.get("durations_s") or {}).items() if k != "total"}
        order = [k for k in STEP_ORDER if k in recorded] + sorted(k for k in recorded if k not in STEP_ORDER)
        steps = {k: recorded[k] for k in order}
        longest = max(steps.values(), default=0)
        durations = [{"step": k, "seconds": v, "bar": _share_bar(v, longest)} for k, v in steps.items()]
    most_rejects = max((r["all_time"] for r in data.rejects), default=0)
    rejects = [{**r, "bar": _share_bar(r["all_time"], most_rejects)} for r in data.rejects]
    moves_up = sum(r["profiles"] for r in data.movement_counts if r["direction"] == "up")
    moves_down = sum(r["profiles"] for r in data.movement_counts if r["direction"] == "down")
    page = (
        _environment()
        .get_template("radar.html.j2")
        .render(
            data=data,
            cards=cards,
            run=run,
            durations=durations,
            rejects=rejects,
            moves_up=moves_up,
            moves_down=moves_down,
            tier_mix_chart=charts.tier_mix_chart(data.tier_mix) if data.tier_mix else None,
            queries={q.name: q for q in data.queries},
            UNKNOWN=formats.UNKNOWN,
        )
    )
    return page


def write_radar_report(
    warehouse_dir: Path, out: Path | None = None, day: date | None = None, weeks: int = DEFAULT_WEEKS
) -> Path:
    """Gather, render and write the radar report; default `<warehouse>/radar.html`. Atomic: a reader
    sees the previous page or the new one, never half of one."""
    warehouse_dir = Path(warehouse_dir)
    if not warehouse_dir.is_dir():
        raise FileNotFoundError(f"no warehouse directory at {warehouse_dir}")
    out = Path(out) if out is not None else warehouse_dir / "radar.html"
    page = render(gather(warehouse_dir, day=day, weeks=weeks))
    out.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as f:
            f.write(page)
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out
