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

    assert default_as_of(datetime(2026, 11, 25, 0, 30, tzinfo=timezone.utc)) == date(2026, 11, 24)
    # 23:30 on the 25th in UTC-5 is 04:30 UTC on the 26th: the last complete UTC day is the 25th.
    late = datetime(2026, 11, 25, 23, 30, tzinfo=timezone(timedelta(hours=-5)))
    assert default_as_of(late) == date(2026, 11, 25)
