"""The nightly flow: find landed files -> plan -> ingest -> windows -> publish -> SQL -> reports.

A night reads the new files, rewrites only the `events` dates they touch and the windows ending
from the earliest touched day to the as-of day, and commits atomically. Re-running a finished
night changes nothing; a killed night is finished or discarded by the next one. `config` is the
settings of schemas/config.py as a dict (a deployment parameter; missing keys keep their defaults).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from prefect import flow

from flows import artifacts
from flows.landing_tasks import find_landed
from flows.night import Night, StepLog
from flows.plan_tasks import plan_night
from flows.report_tasks import check_freshness, raise_on_warnings, write_radar_report, write_report
from flows.sql_tasks import refresh_sql_if_due
from flows.tasks import cleaned_on_failure, compute_windows, ingest, publish, resume_pending
from planning.nights import default_as_of, new_run_id
from schemas import config as cfg
from storage.warehouse import Warehouse


@flow(name="microradar-nightly", log_prints=True)
def nightly(
    landing_dir: str,
    warehouse_dir: str,
    as_of: date | None = None,
    allow_changed: bool = False,
    full_refresh: bool = False,
    beam_args: list[str] | None = None,
    ingest_time: datetime | None = None,
    num_buckets: int | None = None,
    config: dict | None = None,
    rehash: bool = False,
) -> dict:
    """Ingest what landed, recompute the touched windows, refresh the SQL layer, leave a run report."""
    settings = cfg.from_dict(config)  # an unknown key or a wrong type fails the run, naming the key
    started = ingest_time or datetime.now(UTC)
    night = Night(
        Warehouse.at(warehouse_dir),
        landing_dir,
        new_run_id(datetime.now(UTC)),
        as_of or default_as_of(started),
        started,
        full_refresh,
        list(beam_args or []),
        num_buckets,
        settings,
    )
    took = StepLog()  # each step's wall time and the peak memory after it, for the run report
    with night.wh.lock(), cleaned_on_failure(night):
        resumed, took["resume"] = resume_pending(night)
        landed, took["plan"] = find_landed(night, rehash, allow_changed)
        ingested, took["ingest"] = ingest(night, landed)
        plan, took["lookup"] = plan_night(night, landed)
        windows, took["windows"] = compute_windows(night, plan)
        if windows:
            _, took["commit"] = publish(night, landed, plan, windows[0])
        _, took["sql"] = refresh_sql_if_due(night, windows[0].recompute_from if windows else None)
    checked = check_freshness(night, landed, ingested)
    report = write_report(night, resumed, landed, ingested, plan, windows, checked, took)
    report = write_radar_report(night, report)
    artifacts.publish_artifacts(report)
    return raise_on_warnings(night, report)
