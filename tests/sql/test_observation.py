"""Contract v2 follower observation in the SQL layer, on small fixtures: readings from
profile_snapshot events, staleness, precision, gaps, peers per measure, cadence against the
platform, the 14-day signal window and reasons formatted for people (SPEC section 3)."""

import re
from datetime import UTC, date, datetime, timedelta

import pyarrow as pa
import pytest

from schemas import config as cfg
from schemas.datasets import EVENTS
from storage import sql_layer

AS_OF = date(2026, 11, 24)
DAYS = 60
START = AS_OF - timedelta(days=DAYS - 1)


def trailing_sql(window_lengths):
    lengths = ", ".join(f"({n})" for n in window_lengths)
    return f"""
    create table engagement_trailing as
    select d.platform, d.profile_id, w.window_days, e.day as window_end,
           sum(d.posts) as posts, sum(d.sponsored_posts) as sponsored_posts, sum(d.interactions) as interactions,
           sum(d.likes) as likes, sum(d.comments) as comments, sum(d.creator_replies) as creator_replies,
           sum(d.unique_engagers) as unique_engagers
    from engagement_daily as d
    cross join (values {lengths}) as w(window_days)
    join (select distinct day from engagement_daily) as e
      on d.day between e.day - (w.window_days - 1) and e.day
    group by all
    """


SNAPSHOTS = """
    select platform, profile_id, 'profile_snapshot' as event_type,
           'snap-' || platform || profile_id || cast(observed_at as varchar) as event_id,
           observed_at as event_time, cast(observed_at as date) as event_date,
           followers, followers_precision
    from snapshot_rows
"""
SNAPSHOT_SCHEMA = pa.schema(
    [
        ("platform", pa.string()),
        ("profile_id", pa.string()),
        ("observed_at", pa.timestamp("us", tz="UTC")),
        ("followers", pa.int64()),
        ("followers_precision", pa.int64()),
    ]
)


class Fixture:
    """Profiles as daily engagement rows plus follower snapshots."""

    def __init__(self):
        self.daily, self.snapshots = [], []

    def add(
        self,
        name,
        followers,
        *,
        platform="instagram",
        first_day=0,
        read_on=None,
        precision=None,
        er=0.02,
        posts=lambda i: 1,
        engagement=True,
        flat_engagement=False,
    ):
        """followers(i) is the true count on day index i (0 = START); read_on(i) says whether it is
        read that day (at 12:00 UTC); precision rounds it the way the platform would."""
        for i in range(first_day, DAYS):
            day = START + timedelta(days=i)
            count = int(followers(i))
            base = int(followers(first_day)) if flat_engagement else count
            interactions = int(base * er / 7) if engagement else 0
            self.daily.append(
                {
                    "platform": platform,
                    "profile_id": name,
                    "day": day,
                    "posts": posts(i),
                    "sponsored_posts": 0,
                    "interactions": interactions,
                    "likes": interactions,
                    "comments": 0,
                    "shares": 0,
                    "saves": 0,
                    "creator_replies": 0,
                    "unique_engagers": interactions,
                    "followers_last": None,
                }
            )
            if read_on is None or read_on(i):
                shown = count if precision is None else round(count / precision) * precision
                self.snapshots.append(
                    {
                        "platform": platform,
                        "profile_id": name,
                        "followers": shown,
                        "observed_at": datetime(day.year, day.month, day.day, 12, tzinfo=UTC),
                        "followers_precision": precision,
                    }
                )
        return self

    def crowd(self, n=10, platform="instagram", posts=lambda i: 1, start=20_000, name="steady"):
        for k in range(n):
            self.add(
                f"{platform}_{name}{k}",
                lambda i, k=k: (start + 700 * k) * 1.001**i,
                platform=platform,
                posts=posts,
            )
        return self

    def run(self, config=cfg.DEFAULT, windows=(7, 14, 28)):
        con = sql_layer.connect()
        con.register("daily_rows", pa.Table.from_pylist(self.daily))
        con.execute("create table engagement_daily as select * from daily_rows")
        con.execute(trailing_sql(windows))
        con.register("snapshot_rows", pa.Table.from_pylist(self.snapshots, schema=SNAPSHOT_SCHEMA))
        con.execute(
            f"create view events as ({sql_layer.empty_view_sql(EVENTS)}) union all by name ({SNAPSHOTS})"
        )
        sql_layer.load_config(con, config, AS_OF)
        table = sql_layer.run_models(con)
        return {(r["platform"], r["profile_id"], r["day"]): r for r in table.to_pylist()}


def row(rows, name, i=DAYS - 1, platform="instagram"):
    return rows[(platform, name, START + timedelta(days=i))]


def test_a_count_read_14_days_ago_is_fresh_and_15_days_ago_stale():
    rows = Fixture().add("once", lambda i: 20_000, read_on=lambda i: i == 10).run()
    fresh, stale = row(rows, "once", 24), row(rows, "once", 25)
    assert (fresh["followers"], fresh["tier"], fresh["followers_stale"]) == (20_000, "micro", False)
    assert (stale["followers"], stale["tier"], stale["followers_stale"]) == (None, None, True)
    read_at = datetime(2026, 10, 6, 12, tzinfo=UTC)  # START + 10 days
    assert fresh["followers_observed_at"] == stale["followers_observed_at"] == read_at
    assert fresh["followers_precision"] == 1  # the snapshot did not say: exact
    before = row(rows, "once", 9)
    assert before["followers"] is None and not before["followers_stale"]  # before the first reading


def test_staleness_limit_comes_from_configuration():
    config = cfg.Config(observation=cfg.ObservationRules(max_staleness_days=30))
    rows = Fixture().add("once", lambda i: 20_000, read_on=lambda i: i == 10).run(config)
    assert row(rows, "once", 40)["followers"] == 20_000 and row(rows, "once", 41)["followers_stale"]


def test_growth_is_null_not_zero_without_an_earlier_reading():
    rows = Fixture().add("newcomer", lambda i: 20_000, first_day=50).run()
    last = row(rows, "newcomer")
    assert last["followers"] == 20_000
    assert last["follower_growth_28d"] is None and last["follower_growth_pct_28d"] is None
    assert last["growth_observed_days"] is None and last["follower_growth_pct_14d"] is None
    assert last["follower_growth_7d"] == 0 and last["growth_observed_days_7d"] == 7.0  # measured: a real 0


def test_growth_across_a_gap_is_growth_over_the_gap_not_a_one_day_jump():
    # read daily, then not for 20 days, then +30%: the same pace as a steady riser, not a jump
    fx = Fixture().crowd()
    fx.add("gap", lambda i: 20_000 * 1.013**i, read_on=lambda i: i <= 38 or i == 58 or i == 59)
    rows = fx.run()
    jump_day = row(rows, "gap", 58)
    assert jump_day["growth_observed_days"] == pytest.approx(28.0)  # the reading of day 30 to day 58
    assert jump_day["growth_observed_days_7d"] == pytest.approx(20.0)  # day 38 (last before the window) to 58
    assert jump_day["follower_growth_pct_7d"] == pytest.approx(1.013**20 - 1, abs=1e-3)
    assert not jump_day["is_suspicious"] and jump_day["suspicious_reasons"] == []
    assert jump_day["max_daily_gain_vs_baseline"] < 2  # the gap's gain against the usual pace over 20 days
    assert row(rows, "gap", 53)["followers_stale"]  # 15 days after the last reading of day 38


def spiked(i):
    return 5_000 + (1_000 if i >= 50 else 0)


def test_a_change_within_the_precision_is_no_jump_and_no_round_number():
    fx = Fixture().add("exact", spiked).add("rounded", spiked, precision=1_000)
    rows = fx.run()
    exact, rounded = row(rows, "exact"), row(rows, "rounded")
    assert exact["is_suspicious"] and any("round number (1,000)" in r for r in exact["suspicious_reasons"])
    assert rounded["followers"] == 6_000 and rounded["followers_precision"] == 1_000
    assert not rounded["is_suspicious"] and rounded["suspicious_reasons"] == []


def test_a_rounded_jump_beyond_its_precision_is_a_jump_but_not_round():
    fx = Fixture().add(
        "rounded", lambda i: 20_000 + (10_000 if i >= 50 else 0), precision=1_000, engagement=False
    )
    rows = fx.run()
    last = row(rows, "rounded")
    assert last["max_daily_gain_vs_baseline"] >= 8
    # no engagement data at all: no evidence that engagement stayed flat; a rounded count: no round number
    assert not last["is_suspicious"], last["suspicious_reasons"]


def test_engagement_flat_needs_engagement_data():
    fx = Fixture().add("no_data", lambda i: 20_000 + (10_000 if i >= 50 else 0), engagement=False)
    last = row(fx.run(), "no_data")
    assert last["is_suspicious"]  # by the round number alone
    assert not any("engagement did not follow" in r for r in last["suspicious_reasons"])
    assert not any("+0%" in r for r in last["suspicious_reasons"])


def test_a_weekly_read_bought_spike_is_reported_over_its_real_interval():
    fx = Fixture().add(
        "weekly_spike",
        lambda i: 20_000 * 1.001**i + (9_000 if i >= 52 else 0),
        read_on=lambda i: i % 7 == 3,
        flat_engagement=True,
    )
    last = row(fx.run(), "weekly_spike")
    assert last["is_suspicious"], last
    (jump,) = [r for r in last["suspicious_reasons"] if r.startswith("gained")]
    assert re.fullmatch(
        r"gained 9,\d{3} followers between 2026-11-1\d and 2026-11-\d\d \(\+\d+%\), "
        r"[\d,]+x its usual change over 7 days",
        jump,
    ), jump


def test_peers_for_a_measure_are_the_profiles_that_have_it():
    # 5 profiles with a 28-day growth, 3 younger ones without: with min_peers 6, the 28-day growth
    # has too few peers on instagram, the 14-day growth (all 8 have it) has enough
    fx = Fixture()
    for k in range(5):
        fx.add(f"old{k}", lambda i, k=k: 20_000 * (1 + 0.002 * k) ** i)
    for k in range(3):
        fx.add(f"young{k}", lambda i, k=k: 20_000 * (1 + 0.01 * k) ** i, first_day=40)
    rows = fx.run(cfg.Config(rising=cfg.RisingThresholds(min_peers=6)))
    old, young = row(rows, "old4"), row(rows, "young0")
    assert old["signal_window_days"] == 28 and old["peer_group"] == "all platforms"
    assert young["signal_window_days"] == 14 and young["peer_group"] == "platform"
    growths = sorted(row(rows, f"old{k}")["follower_growth_pct_28d"] for k in range(5))
    assert old["peer_median_growth_pct_28d"] == pytest.approx(growths[2])
    assert young["follower_growth_pct_28d"] is None and young["engagement_rate_percentile_28d"] is not None
    # percentiles rank among those that have the measure: the fastest old one tops its 28-day peers
    # (with the 3 young ones ranked in, the top would still be 1.0 but the slowest old one not 0)
    assert old["rising_score"] is not None and row(rows, "old0")["rising_score"] < old["rising_score"]


def test_posting_cadence_is_judged_against_the_platform():
    fx = Fixture()
    weekly = lambda i: int(i % 7 == 0)  # noqa: E731
    fx.crowd(platform="youtube", posts=weekly).crowd(platform="instagram")
    fx.add("yt_riser", lambda i: 15_000 * 1.015**i, platform="youtube", posts=weekly)
    fx.add("ig_weekly_riser", lambda i: 15_000 * 1.015**i, posts=weekly)
    rows = fx.run()
    yt = row(rows, "yt_riser", platform="youtube")
    assert yt["posts_28d"] == 4 and yt["is_rising"], yt
    assert any(
        re.fullmatch(r"posting 1\.0 times a week, 1\.0x the youtube median", r) for r in yt["rising_reasons"]
    )
    ig = row(rows, "ig_weekly_riser")
    assert ig["posts_vs_platform"] == pytest.approx(1 / 7) and not ig["is_rising"]


@pytest.mark.parametrize("windows", [(7, 14, 28), (7, 28)])
def test_a_profile_with_two_weeks_of_history_can_be_flagged(windows):
    """From the 14-day window of engagement_trailing when it has one, else from its two 7-day windows."""
    fx = Fixture().crowd().crowd(start=12_000, name="small")
    fx.add("fresh_riser", lambda i: 15_000 * 1.02 ** (i - 44), first_day=44)  # 16 days of history
    rows = fx.run(windows=windows)
    last = row(rows, "fresh_riser")
    assert last["follower_growth_pct_28d"] is None and last["signal_window_days"] == 14
    assert last["interactions_14d"] == sum(
        r["interactions"]
        for r in fx.daily
        if r["profile_id"] == "fresh_riser" and r["day"] > AS_OF - timedelta(days=14)
    )
    assert last["is_rising"], last
    first = last["rising_reasons"][0]
    assert re.fullmatch(
        r"followers \+\d+% in 14 days \(\d{2},\d{3} → \d{2},\d{3}\), [\d.]+x the micro median .+", first
    ), first
    assert not any("+0%" in r or "nan" in r for r in last["rising_reasons"])
    assert row(rows, "fresh_riser", 50)["signal_window_days"] is None  # a week of history: not yet


def test_rising_reasons_format_numbers_for_people():
    fx = Fixture().crowd().add("riser", lambda i: 12_400 * 1.012**i)
    last = row(fx.run(), "riser")
    assert last["is_rising"]
    first = last["rising_reasons"][0]
    assert re.fullmatch(
        r"followers \+\d+% in 28 days \(\d{2},\d{3} → \d{2},\d{3}\), [\d.]+x the micro median .+", first
    )
    # no previous engagement window at 60 days? there is one: interactions growth is measured and printed
    assert any(r.startswith("interactions +") for r in last["rising_reasons"])
