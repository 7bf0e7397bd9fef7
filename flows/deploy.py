"""The nightly deployment: `nightly` on a cron schedule (02:00 UTC), registered with a Prefect server.

    prefect server start --host 127.0.0.1 --port 4200            # one terminal
    PREFECT_API_URL=http://127.0.0.1:4200/api \\
        python -m flows.deploy --landing /data/landing --warehouse /data/warehouse   # another

`serve` keeps running and starts a flow run at every scheduled time; a backfill or a rerun is
`prefect deployment run 'microradar-nightly/nightly' --param as_of=2026-11-24`.
"""

from __future__ import annotations

import argparse

from prefect.schedules import Cron

from flows.nightly import nightly

DEPLOYMENT_NAME = "nightly"
NIGHTLY_CRON = "0 2 * * *"  # after the day closes in UTC, with two hours for late files to land


def deployment(landing: str, warehouse: str, cron: str = NIGHTLY_CRON):
    """The deployment object (not yet registered): flow, schedule and parameters."""
    return nightly.to_deployment(
        name=DEPLOYMENT_NAME,
        schedules=[Cron(cron, timezone="UTC")],
        parameters={"landing_dir": landing, "warehouse_dir": warehouse},
        description="Ingest what landed, recompute touched windows, refresh the SQL layer, write the run report.",
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--landing", required=True)
    parser.add_argument("--warehouse", required=True)
    parser.add_argument("--cron", default=NIGHTLY_CRON)
    args = parser.parse_args(argv)
    from prefect import serve

    serve(deployment(args.landing, args.warehouse, args.cron))


if __name__ == "__main__":
    main()
