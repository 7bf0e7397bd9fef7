"""The night's last steps: freshness and volume checks, the run report (runs/<run_id>.json and
last_run.json), the radar report page, and failing a night that warned when asked to.

The report's pure parts (the line accounting, the top-rising text) are in flows/run_report.py.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from prefect import task

from flows import run_report
from flows.night import Landed, Night, NightPlan, StepLog, peak_rss_mb
from flows.progress import progress
from pipelines import batch
from planning import checks
from schemas import config as cfg
from storage import sql_layer
from storage.warehouse import Warehouse


class NightWarnings(RuntimeError):
    """The night committed and wrote its report, but warned, and `checks.fail_on_warning` is set."""

    def __init__(self, report: dict):
        self.report = report
        super().__init__(
            "; ".join(w["message"] for w in report["warnings"]) + f" (run report: {report['report_path']})"
        )


def read_run_reports(wh: Warehouse) -> list[dict]:
    """Earlier run reports (`_meta/runs/*.json`); one that cannot be read is left out."""
    reports = []
    for path in sorted((wh.meta / "runs").glob("*.json")):
        try:
            reports.append(json.loads(path.read_text()))
        except (OSError, ValueError):
            continue
    return reports


@task
def check_freshness(night: Night, landed: Landed, ingested: dict | None) -> dict:
    """Freshness and volume checks against the last nights' run reports: warnings, printed."""
    settings = night.config.checks
    previous = checks.recent_nights(read_run_reports(night.wh), settings.volume_nights, night.run_id)
    lines_read = ingested["lines"]["lines_read"] if ingested else 0
    warnings = checks.freshness_and_volume(
        len(landed.to_read),
        lines_read,
        previous,
        settings.max_volume_drop,
        str(Path(night.landing_dir).resolve()),
    )
    for w in warnings:
        progress(f"WARNING ({w['check']}): {w['message']}")
    median = checks.median_lines_read(previous)
    return {"warnings": warnings, "volume_baseline": {"nights": len(previous), "median_lines_read": median}}


@task
def write_report(
    night: Night,
    resumed: dict[str, dict],
    landed: Landed,
    ingested: dict | None,
    plan: NightPlan,
    windows: tuple[batch.MergeJob, dict] | None,
    checked: dict,
    steps: StepLog,
) -> dict:
    """The run report: accounting of every line, what was recomputed, durations, top rising, warnings.
    `steps`: each step's wall time in seconds and the peak memory after it, as the flow recorded them."""
    merge_stats = windows[1] if windows else None
    report = {
        "run_id": night.run_id,
        "as_of": night.as_of.isoformat(),
        "started_at": night.started.isoformat(),
        "landing": str(Path(night.landing_dir).resolve()),
        "warehouse": str(night.wh.root),
        "full_refresh": night.full_refresh,
        "resumed_runs": list(resumed),
        # The figures of each interrupted run this one finished (its lines are counted there, not here).
        "resumed": resumed,
        "files": {
            "new": len(landed.plan.new),
            "changed": len(landed.plan.changed),
            "already_ingested": landed.plan.already_ingested,
        },
        "landing_entries": landed.entries,
        "recomputed": windows is not None,
        "touched_event_dates": sorted(d.isoformat() for d in plan.touched),
        "event_dates_rewritten": sorted(d.isoformat() for d in plan.rewritten) if windows else [],
        "windows_recomputed_from": windows[0].recompute_from.isoformat() if windows else None,
        "counts": run_report.accounting(batch.run_report_counts(ingested, merge_stats, plan.stored_wins)),
        "top_rising": sql_layer.top_rising(night.wh, night.as_of, night.config.top_rising),
        **checked,
        "config": cfg.to_dict(night.config),
        "outputs": {
            "duckdb": str(night.wh.duckdb_path),
            **{
                name: str(night.wh.root / name)
                for name in ("events", "rejected", "engagement_daily", "engagement_trailing", "profile_daily")
            },
        },
    }
    total = time.perf_counter() - night.clock  # the flow's own work, without Prefect's
    report["durations_s"] = {k: round(v, 3) for k, v in {**steps.seconds, "total": total}.items()}
    report["peak_rss_mb"] = {**steps.peak_rss_mb, "total": peak_rss_mb()}
    return _save_report(night, report)


def _save_report(night: Night, report: dict) -> dict:
    report = {k: v for k, v in report.items() if k != "report_path"}
    path = night.wh.write_json(f"runs/{night.run_id}.json", report)
    night.wh.write_json("last_run.json", report)
    return report | {"report_path": str(path)}


@task
def write_radar_report(night: Night, report: dict) -> dict:
    """The radar report page (report/) of the warehouse after the night; its path joins the run
    report's outputs. A warehouse with no SQL layer yet (nothing ever landed) has no page."""
    from report import write_radar_report as write_page

    if not night.wh.duckdb_path.exists():
        progress("radar report: no analyst database yet, no page")
        return report
    clock = time.perf_counter()
    path = write_page(night.wh.root)
    progress(f"radar report: {path}")
    durations = report["durations_s"] | {"radar_report": round(time.perf_counter() - clock, 3)}
    peak = peak_rss_mb()
    memory = report["peak_rss_mb"] | {"radar_report": peak, "total": peak}
    return _save_report(
        night,
        report
        | {
            "outputs": report["outputs"] | {"radar_report": str(path)},
            "durations_s": durations,
            "peak_rss_mb": memory,
        },
    )


def raise_on_warnings(night: Night, report: dict) -> dict:
    """With `checks.fail_on_warning`, a night that warned fails (after its commit and report)."""
    if report["warnings"] and night.config.checks.fail_on_warning:
        raise NightWarnings(report)
    return report
