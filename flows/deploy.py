"""The deployments: `nightly` on a cron schedule (02:00 UTC) and `backfill` on demand, served together.

    prefect server start --host 127.0.0.1 --port 4200            # one terminal
    PREFECT_API_URL=http://127.0.0.1:4200/api \\
        python -m flows.deploy --landing /data/landing --warehouse /data/warehouse \\
        [--config microradar.toml]                                 # another

`serve` keeps running and starts a nightly run at every scheduled time. On demand (a third terminal,
same PREFECT_API_URL):

    prefect deployment run 'microradar-nightly/nightly' --param as_of=2026-11-24
    prefect deployment run 'microradar-backfill/backfill' \\
        --param recompute_from=2026-11-01 --param to_day=2026-11-24
    prefect deployment run 'microradar-nightly/nightly' --param config='{"top_rising": 20}'

A `config` parameter replaces the deployment's (the served file's) settings for that run; keys it
leaves out keep their defaults. A key the run does not know fails the run, naming it.
"""

from __future__ import annotations

import argparse

from prefect.schedules import Cron

from flows.backfill import backfill
from flows.nightly import nightly
from schemas import config as cfg

DEPLOYMENT_NAME = "nightly"
BACKFILL_DEPLOYMENT_NAME = "backfill"
NIGHTLY_CRON = "0 2 * * *"  # after the day closes in UTC, with two hours for late files to land


def deployment(landing: str, warehouse: str, cron: str = NIGHTLY_CRON, config: dict | None = None):
    """The nightly deployment object (not yet registered): flow, schedule and parameters."""
    return nightly.to_deployment(
        name=DEPLOYMENT_NAME,
        schedules=[Cron(cron, timezone="UTC")],
        parameters={"landing_dir": landing, "warehouse_dir": warehouse}
        | ({"config": config} if config else {}),
        description="Ingest what landed, recompute touched windows, refresh the SQL layer, write the run report.",
    )


def backfill_deployment(warehouse: str, config: dict | None = None):
    """The backfill deployment: no schedule; each run names `recompute_from` and `to_day`."""
    return backfill.to_deployment(
        name=BACKFILL_DEPLOYMENT_NAME,
        parameters={"warehouse_dir": warehouse} | ({"config": config} if config else {}),
        description="Recompute the windows ending recompute_from .. to_day and the SQL layer from stored events.",
    )


def deployments(landing: str, warehouse: str, cron: str = NIGHTLY_CRON, config: dict | None = None) -> list:
    return [deployment(landing, warehouse, cron, config), backfill_deployment(warehouse, config)]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("--landing", required=True)
    parser.add_argument("--warehouse", required=True)
    parser.add_argument("--cron", default=NIGHTLY_CRON)
    parser.add_argument("--config", help="a TOML configuration file (docs/microradar.example.toml)")
    args = parser.parse_args(argv)
    config = cfg.to_dict(cfg.load_toml(args.config)) if args.config else None
    from prefect import serve

    serve(*deployments(args.landing, args.warehouse, args.cron, config))


if __name__ == "__main__":
    main()
