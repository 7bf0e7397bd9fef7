-- The radar report's queries: every figure on the page comes from one of these.
-- Each block starts with `-- name: <query>`; `$day`, `$since`, `$limit`, `$run_id` are parameters.
-- `{{ <query> }}` on a line of its own stands for that query's text, so a query that another one
-- reads as a CTE is written once (report/data.py fills it in before the query runs or is shown).
-- The page shows each query with its parameters filled in, ready for
--   microradar query --warehouse WAREHOUSE "<query>"
-- or a DuckDB session on WAREHOUSE/microradar.duckdb (same view names).

-- name: latest_day
-- The report's day when none is given: the last day of the gold table (and its first).
select
    min(day) as first_day,
    max(day) as day
from profile_daily;

-- name: overview
-- The headline numbers of the day.
select
    count(*) as profiles_tracked,
    count(*) filter (where tier = 'micro') as micro_profiles,
    count(*) filter (where is_rising) as rising_profiles,
    count(*) filter (where is_suspicious) as suspicious_profiles
from profile_daily
where day = $day;

-- name: top_rising
-- The rising micro influencers of the day, best score first, with their reasons.
select
    platform,
    profile_id,
    followers,
    tier,
    rising_score,
    rising_rank,
    followers_28d_ago,
    follower_growth_pct_28d,
    engagement_rate_28d,
    posts_per_week_28d,
    rising_reasons
from profile_daily
where day = $day and is_rising
order by rising_score desc, platform asc, profile_id asc
limit $limit;

-- name: growth_series
-- Each top profile's followers (latest known count at the end of the day) and interactions
-- received per day, from $since to $day. A day without a row in engagement_daily had no
-- accepted event: 0 interactions. Followers stay null (a gap) before the first snapshot
-- and when the last one is stale.
with top as (
    {{ top_rising }}
)

select
    p.platform,
    p.profile_id,
    p.day,
    p.followers,
    coalesce(e.interactions, 0) as interactions
from profile_daily as p
inner join top on p.platform = top.platform and p.profile_id = top.profile_id
left join engagement_daily as e
    on p.platform = e.platform and p.profile_id = e.profile_id and p.day = e.day
where p.day between $since and $day
order by p.platform asc, p.profile_id asc, p.day asc;

-- name: tier_movements
-- Profiles whose tier on $day differs from their tier on $since (28 days before):
-- the net move over four weeks, so a count wobbling around a threshold is not counted twice.
-- Up or down follows the followers (tiers are ordered by followers).
with tiers as (
    select
        platform,
        profile_id,
        day,
        tier,
        followers
    from profile_daily
    where day in ($since, $day)
)

select
    now_.platform,
    now_.profile_id,
    then_.tier as from_tier,
    now_.tier as to_tier,
    then_.followers as followers_before,
    now_.followers as followers_now,
    case when now_.followers > then_.followers then 'up' else 'down' end as direction
from tiers as now_
inner join tiers as then_ on now_.platform = then_.platform and now_.profile_id = then_.profile_id
where now_.day = $day and then_.day = $since and now_.tier != then_.tier
order by direction desc, now_.followers desc, now_.platform asc, now_.profile_id asc;

-- name: tier_movement_counts
-- How many profiles made each move over the four weeks.
with moves as (
    {{ tier_movements }}
)

select
    from_tier,
    to_tier,
    direction,
    count(*) as profiles
from moves
group by all
order by profiles desc, from_tier asc, to_tier asc;

-- name: tier_mix
-- How many profiles sit in each tier on the day (no tier: no fresh follower count).
select
    coalesce(tier, 'unknown') as tier,
    count(*) as profiles,
    min(followers) as min_followers
from profile_daily
where day = $day
group by all
order by min_followers asc nulls last;

-- name: freshness
-- The latest day with an accepted event against the report's day.
select
    latest.latest_event_day,
    $day as report_day,
    $day - latest.latest_event_day as days_behind
from (select cast(max(event_time) as DATE) as latest_event_day from events) as latest;

-- name: rejects_by_reason
-- Rejected input lines by reason: read by the last run, and ever.
select
    reason,
    count(*) filter (where run_id = $run_id) as last_run,
    count(*) as all_time
from rejected
group by reason
order by all_time desc, reason asc;
