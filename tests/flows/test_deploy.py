from datetime import UTC

import pytest

from flows.deploy import NIGHTLY_CRON, deployment
from planning.nights import default_as_of


def test_the_deployment_runs_nightly_at_two_utc_with_its_directories():
    d = deployment("/data/landing", "/data/warehouse")
    assert NIGHTLY_CRON == "0 2 * * *"
    (schedule,) = d.schedules
    assert (schedule.schedule.cron, schedule.schedule.timezone) == ("0 2 * * *", "UTC")
    assert d.parameters == {"landing_dir": "/data/landing", "warehouse_dir": "/data/warehouse"}


def test_as_of_defaults_to_the_last_complete_utc_day():
    from datetime import date, datetime, timedelta, timezone

    assert default_as_of(datetime(2026, 11, 25, 0, 30, tzinfo=UTC)) == date(2026, 11, 24)
    # 23:30 on the 25th in UTC-5 is 04:30 UTC on the 26th: the last complete UTC day is the 25th.
    late = datetime(2026, 11, 25, 23, 30, tzinfo=timezone(timedelta(hours=-5)))
    assert default_as_of(late) == date(2026, 11, 25)


def test_backfill_is_deployed_beside_nightly_without_a_schedule():
    from flows.deploy import deployments

    nightly_d, backfill_d = deployments("/data/landing", "/data/warehouse", config={"top_rising": 5})
    assert (nightly_d.name, backfill_d.name) == ("nightly", "backfill")
    assert backfill_d.flow_name == "microradar-backfill" and not backfill_d.schedules
    assert backfill_d.parameters == {"warehouse_dir": "/data/warehouse", "config": {"top_rising": 5}}
    assert nightly_d.parameters["config"] == {"top_rising": 5}
    schema = backfill_d._parameter_openapi_schema  # what the server validates a run's parameters with
    assert {"recompute_from", "to_day"} <= set(schema.required)
    assert schema.properties["config"]["anyOf"][0]["type"] == "object"


def test_serving_reads_the_config_file_and_refuses_a_bad_one(tmp_path, monkeypatch):
    import prefect

    import flows.deploy as deploy
    from schemas.config import ConfigError

    served = []
    monkeypatch.setattr(prefect, "serve", lambda *ds: served.extend(ds))
    (tmp_path / "ok.toml").write_text("top_rising = 7\n")
    deploy.main(["--landing", "/l", "--warehouse", "/w", "--config", str(tmp_path / "ok.toml")])
    assert [d.parameters["config"]["top_rising"] for d in served] == [7, 7]
    (tmp_path / "bad.toml").write_text("top_risng = 7\n")
    with pytest.raises(ConfigError, match="bad.toml.*'top_risng'"):
        deploy.main(["--landing", "/l", "--warehouse", "/w", "--config", str(tmp_path / "bad.toml")])
