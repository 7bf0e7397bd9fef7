"""The SQL models on small fixture tables: rows in, profile_daily rows out."""

from datetime import date, timedelta

import pyarrow as pa
import pytest

from schemas import config as cfg
from schemas.datasets import EVENTS
from storage import sql_layer

AS_OF = date(2026, 11, 24)
DAYS = 60
START = AS_OF - timedelta(days=DAYS - 1)

TRAILING_FROM_DAILY = """
create table engagement_trailing as
select d.platform, d.profile_id, w.window_days, e.day as window_end,
       sum(d.posts) as posts, sum(d.sponsored_posts) as sponsored_posts, sum(d.interactions) as interactions,
       sum(d.likes) as likes, sum(d.comments) as comments, sum(d.creator_replies) as creator_replies,
       sum(d.unique_engagers) as unique_engagers
from engagement_daily as d
cross join (values (7), (28)) as w(window_days)
join (select distinct day from engagement_daily) as e
  on d.day between e.day - (w.window_days - 1) and e.day
group by all
"""


def series(
    start_followers,
    daily_growth=0.0,
    jump_day=None,
    jump=0,
    er=0.02,
    flat_engagement=False,
    posts=1,
    snapshot_every=1,
):
    """Daily (followers, interactions, posts) for DAYS days."""
    rows, followers = [], float(start_followers)
    for i in range(DAYS):
        followers *= 1 + daily_growth
        if jump_day is not None and i == jump_day:
            followers += jump
        base = start_followers if flat_engagement else followers
        rows.append((int(followers) if i % snapshot_every == 0 else None, int(base * er / 7), posts))
    return rows


PROFILES = {
    **{f"steady{i}": series(20_000 + 500 * i, 0.001) for i in range(10)},
    **{f"nano_steady{i}": series(3_000 + 300 * i, 0.001) for i in range(6)},
    "rising": series(15_000, 0.015),
    "spike": series(20_000, 0.0, jump_day=DAYS - 10, jump=10_000, flat_engagement=True),
    "crossing": series(6_800, 0.012),
    "viral": series(20_000, 0.0, jump_day=25, jump=7_777),  # engagement follows the jump
    "round_engaged": series(20_000, 0.0, jump_day=25, jump=10_000),
    "tiny": series(300, 0.03),
    "declining": series(30_000, -0.005),
    "quiet_riser": series(15_000, 0.015, posts=0),
    "sparse": series(12_000, 0.0, snapshot_every=7),
}


# Follower counts reach the models as profile_snapshot events (sql/staging/stg_follower_readings.sql):
# by default one per fixture row with followers_last, read at 12:00 UTC that day, exact.
SNAPSHOTS_FROM_DAILY = """
    select platform, profile_id, 'profile_snapshot' as event_type,
           'snap-' || profile_id || '-' || cast(day as varchar) as event_id,
           cast(day as timestamp) + interval 12 hour as event_time, day as event_date,
           followers_last as followers, cast(null as bigint) as followers_precision
    from engagement_daily where followers_last is not null
"""

SNAPSHOT_ROWS = """
    select platform, profile_id, 'profile_snapshot' as event_type,
           'snap-' || profile_id || '-' || cast(observed_at as varchar) as event_id,
           observed_at as event_time, cast(observed_at as date) as event_date,
           followers, followers_precision
    from snapshot_rows
"""


def run_on_fixture(con, daily_rows, events_sql=None, recompute_from=None, snapshots=None, config=cfg.DEFAULT):
    """profile_daily of fixture rows. `snapshots`: (platform, profile_id, observed_at, followers,
    followers_precision) dicts replacing the snapshots derived from followers_last."""
    con.register("daily_rows", pa.Table.from_pylist(daily_rows))
    con.execute("create table engagement_daily as select * from daily_rows")
    con.execute(TRAILING_FROM_DAILY)
    if snapshots is not None:
        con.register(
            "snapshot_rows",
            pa.Table.from_pylist(
                snapshots,
                schema=pa.schema(
                    [
                        ("platform", pa.string()),
                        ("profile_id", pa.string()),
                        ("observed_at", pa.timestamp("us", tz="UTC")),
                        ("followers", pa.int64()),
                        ("followers_precision", pa.int64()),
                    ]
                ),
            ),
        )
    snapshot_sql = SNAPSHOT_ROWS if snapshots is not None else SNAPSHOTS_FROM_DAILY
    con.execute(
        f"create view events as ({events_sql or sql_layer.empty_view_sql(EVENTS)}) "
        f"union all by name ({snapshot_sql})"
    )
    sql_layer.load_config(con, config, AS_OF, recompute_from)
    return sql_layer.run_models(con)


def fixture_daily_rows() -> list[dict]:
    rows = []
    for name, days in PROFILES.items():
        for i, (followers, interactions, posts) in enumerate(days):
            rows.append(
                {
                    "platform": "instagram",
                    "profile_id": name,
                    "day": START + timedelta(days=i),
                    "posts": posts,
                    "sponsored_posts": 0,
                    "interactions": interactions,
                    "likes": interactions * 8 // 10,
                    "comments": interactions // 10,
                    "shares": interactions - interactions * 8 // 10 - interactions // 10,
                    "saves": 0,
                    "creator_replies": 1,
                    "unique_engagers": interactions // 2,
                    "followers_last": followers,
                }
            )
    return rows


@pytest.fixture(scope="module")
def profile_daily():
    table = run_on_fixture(sql_layer.connect(), fixture_daily_rows())
    return {(r["profile_id"], r["day"]): r for r in table.to_pylist()}


# Every profile posts a sponsored and an organic post on the first day and gets likes on both
# every day after: the 28-day sponsorship sums reach back before any recent recompute_from.
SPREAD_EVENTS = f"""
    select p.profile_id, 'instagram' as platform, t.event_type, t.post_id, t.actor_id, t.sponsored,
           cast(date '{START}' + t.offset_days as date) as event_date,
           cast(date '{START}' + t.offset_days as timestamp) + interval 12 hour as event_time
    from (select distinct profile_id from engagement_daily) as p
    cross join (
        select 'post' as event_type, 'sp' as post_id, null as actor_id, true as sponsored, 0::INTEGER as offset_days
        union all select 'post', 'org', null, false, 0
        union all select 'like', post_id, 'fan' || (i % 5), null, i::INTEGER
        from range({DAYS}) as r(i) cross join (values ('sp'), ('org')) as v(post_id)
        where i % (case when post_id = 'sp' then 2 else 3 end) = 0
    ) as t
"""


@pytest.mark.parametrize("days_back", [0, 5, 40])
def test_computing_from_a_day_gives_exactly_those_days_of_the_full_computation(days_back):
    """A night recomputes profile_daily from its earliest touched day on: the rows must equal those
    of a computation over every day (lags, carried-forward followers, 28-day sponsorship sums)."""
    recompute_from = AS_OF - timedelta(days=days_back)
    daily = [{**r, "sponsored_posts": r["posts"] * (r["day"].toordinal() % 2)} for r in fixture_daily_rows()]
    # A profile whose only snapshot and posts are early: later days carry them from before the
    # 28 days the models read ahead of recompute_from.
    daily += [
        {
            **r,
            "profile_id": "went_quiet",
            "posts": int(r["day"] < START + timedelta(days=5)),
            "followers_last": 21_000 if r["day"] == START else None,
        }
        for r in fixture_daily_rows()
        if r["profile_id"] == "steady0"
    ]
    full = run_on_fixture(sql_layer.connect(), daily, SPREAD_EVENTS)
    part = run_on_fixture(sql_layer.connect(), daily, SPREAD_EVENTS, recompute_from)
    keys = [("profile_id", "ascending"), ("day", "ascending")]
    expected = [r for r in full.sort_by(keys).to_pylist() if r["day"] >= recompute_from]
    assert part.sort_by(keys).to_pylist() == expected
    assert len(expected) == (len(PROFILES) + 1) * (days_back + 1)
    assert any(r["sponsored_vs_organic_28d"] is not None for r in expected)
    quiet = [r for r in expected if r["profile_id"] == "went_quiet"]
    last_post = START + timedelta(days=4)
    # contract v2: a count read more than 14 days before is stale (unknown), but when it was read carries
    assert all(
        r["followers"] is None
        and r["followers_stale"]
        and r["tier"] is None
        and r["followers_observed_at"].date() == START
        and r["days_since_last_post"] == (r["day"] - last_post).days
        for r in quiet
    ), quiet[:1]


def on(rows, name, day=AS_OF):
    return rows[(name, day)]


def test_one_row_per_profile_and_day_up_to_as_of(profile_daily):
    assert len(profile_daily) == len(PROFILES) * DAYS
    assert max(day for _, day in profile_daily) == AS_OF


def test_followers_are_carried_forward_between_snapshots(profile_daily):
    first = on(profile_daily, "sparse", START)["followers"]
    assert on(profile_daily, "sparse", START + timedelta(days=3))["followers"] == first


def test_tiers_come_from_the_tier_table(profile_daily):
    assert on(profile_daily, "steady0")["tier"] == "micro"
    assert on(profile_daily, "nano_steady0")["tier"] == "nano"


def test_tier_changes_are_dated(profile_daily):
    assert not any(r["tier_changed"] for (n, _), r in profile_daily.items() if n == "steady0")
    crossing = [d for (n, d), r in profile_daily.items() if r["tier_changed"] and n == "crossing"]
    assert len(crossing) == 1
    row = on(profile_daily, "crossing", crossing[0])
    assert (row["previous_tier"], row["tier"]) == ("nano", "micro")


def test_steady_growth_against_peers_is_rising_with_reasons(profile_daily):
    row = on(profile_daily, "rising")
    assert row["is_rising"] and not row["is_suspicious"]
    assert row["rising_rank"] == 1
    assert any("followers +" in reason and "micro median" in reason for reason in row["rising_reasons"])


def test_a_bought_spike_is_suspicious_and_never_rising(profile_daily):
    row = on(profile_daily, "spike")
    assert row["is_suspicious"] and not row["is_rising"]
    assert any("gained 10," in reason for reason in row["suspicious_reasons"])
    assert any("engagement did not follow" in reason for reason in row["suspicious_reasons"])
    assert any("round number" in reason for reason in row["suspicious_reasons"])
    before = on(profile_daily, "spike", AS_OF - timedelta(days=12))
    assert not before["is_suspicious"]


def test_steady_declining_tiny_and_silent_profiles_are_not_rising(profile_daily):
    for name in ("steady0", "declining", "tiny", "quiet_riser", "nano_steady0"):
        assert not on(profile_daily, name)["is_rising"], name


def test_a_nano_projected_to_cross_into_micro_is_rising(profile_daily):
    day = START + timedelta(days=30)  # ~9,840 followers, +40% in 28 days
    row = on(profile_daily, "crossing", day)
    assert row["tier"] == "nano" and row["is_rising"], row
    assert any("projected to pass 10,000" in reason for reason in row["rising_reasons"])


def test_thresholds_come_from_configuration():
    con = sql_layer.connect()
    strict = cfg.Config(rising=cfg.RisingThresholds(min_growth_pct_28d=5.0))
    sql_layer.load_config(con, strict, AS_OF)
    assert con.execute("select min_growth_pct_28d from cfg_rising").fetchone()[0] == 5.0


def test_closeness_and_cadence(profile_daily):
    row = on(profile_daily, "steady0")
    assert row["comments_per_like_28d"] == pytest.approx(1 / 8, rel=0.1)
    assert row["posts_per_week_28d"] == 7.0
    assert row["days_since_last_post"] == 0
    assert on(profile_daily, "quiet_riser")["days_since_last_post"] is None  # never posted


def test_velocity_and_acceleration_from_carried_forward_followers(profile_daily):
    row = on(profile_daily, "spike", START + timedelta(days=DAYS - 10))  # the jump day
    assert row["follower_velocity_7d"] == pytest.approx(10_000 / 7)
    assert row["follower_acceleration_7d"] == pytest.approx(10_000 / 7)


def test_sponsored_against_organic_engagement_joins_interactions_to_their_posts():
    con = sql_layer.connect()
    day = AS_OF
    daily = [
        {
            "platform": "instagram",
            "profile_id": "alice",
            "day": day,
            "posts": 2,
            "sponsored_posts": 1,
            "interactions": 9,
            "likes": 9,
            "comments": 0,
            "shares": 0,
            "saves": 0,
            "creator_replies": 0,
            "unique_engagers": 9,
            "followers_last": 12_000,
        }
    ]
    events = """
        select * from (values
            ('post', 'sp', null, true), ('post', 'org', null, false),
            ('like', 'sp', 'a1', null), ('like', 'sp', 'a2', null), ('like', 'sp', 'a3', null),
            ('like', 'sp', 'a4', null), ('like', 'sp', 'a5', null), ('like', 'sp', 'a6', null),
            ('like', 'sp', 'alice', null),
            ('like', 'org', 'a1', null), ('like', 'org', 'a2', null), ('like', 'org', 'a3', null)
        ) as t(event_type, post_id, actor_id, sponsored)
        cross join (
            select 'instagram' as platform, 'alice' as profile_id, date '2026-11-24' as event_date,
                   timestamp '2026-11-24 12:00:00' as event_time
        )
    """
    table = run_on_fixture(con, daily, events)
    (row,) = table.to_pylist()
    assert row["sponsored_vs_organic_28d"] == pytest.approx(2.0)  # 6 per sponsored post / 3 per organic


def test_a_jump_engagement_followed_is_not_suspicious_unless_round_but_never_rising(profile_daily):
    # 27 days after the jump both 28-day windows compare post-jump engagement with pre-jump engagement.
    day = START + timedelta(days=25 + 27)
    viral, bought = on(profile_daily, "viral", day), on(profile_daily, "round_engaged", day)
    assert not viral["is_suspicious"] and not viral["is_rising"]
    assert bought["is_suspicious"] and not bought["is_rising"]
    assert any("round number (10,000)" in reason for reason in bought["suspicious_reasons"])
    assert not any("engagement did not follow" in reason for reason in bought["suspicious_reasons"])
