-- One row per profile and day, from the profile's first active day (or stg_run_params.first_day,
-- whichever is later: the windows of int_profiles_days_measured reach no further back) to the as-of day.
-- followers: the latest reading (stg_follower_readings) at the end of the day, with when it was
-- read and its precision; null before the first reading, and null with followers_stale once the
-- reading is more than cfg_observation.max_staleness_days days before the day (SPEC section 3).
-- base_<N>d_*: the reading at or before the end of day - N, where an N-day window ending on the
-- day starts: growth over a window runs from it to the last reading in the window. Looked up from
-- stg_run_params.first_kept_day on; null on the context days before it, which only the 28-day
-- rolling measures read (int_profiles_days_measured), and they read the step, not the bases.
-- step_*: the change from the previous reading to a reading taken on this day, over the real time
-- between the two (a gap in the readings is one step, not a one-day jump).
-- last_post_day: the latest day with a post up to this day (null before any post).
-- tier: from followers and cfg_tiers (never hard-coded here, never from a stale count).
with

params as (
    select
        stg_run_params.as_of,
        stg_run_params.first_day,
        stg_run_params.first_kept_day,
        cfg_observation.max_staleness_days
    from stg_run_params
    cross join cfg_observation
),

profiles as (
    select
        engagement_daily.platform,
        engagement_daily.profile_id,
        min(engagement_daily.day) as first_active_day,
        max(engagement_daily.day) filter (
            where engagement_daily.posts > 0 and engagement_daily.day < params.first_day
        ) as carried_post_day
    from stg_engagement_daily as engagement_daily
    cross join params
    group by engagement_daily.platform, engagement_daily.profile_id
),

spine as (
    select
        profiles.platform,
        profiles.profile_id,
        profiles.carried_post_day,
        cast(unnest(generate_series(
            greatest(profiles.first_active_day, params.first_day), params.as_of, interval 1 day
        )) as date) as day
    from profiles
    cross join params
    where profiles.first_active_day <= params.as_of
),

post_days as (
    select
        engagement_daily.platform,
        engagement_daily.profile_id,
        engagement_daily.day as post_day
    from stg_engagement_daily as engagement_daily
    cross join params
    where engagement_daily.day >= params.first_day and engagement_daily.posts > 0
),

readings as materialized (
    -- read once: the four ASOF joins below would each scan the events and window them again
    select * from stg_follower_readings
),

bases as (
    -- the readings where each window ending on a kept day starts
    select
        kept.platform,
        kept.profile_id,
        kept.day,
        base_7d.followers as base_7d_followers,
        base_7d.observed_at as base_7d_observed_at,
        base_14d.followers as base_14d_followers,
        base_14d.observed_at as base_14d_observed_at,
        base_28d.followers as base_28d_followers,
        base_28d.observed_at as base_28d_observed_at
    from (
        select
            spine.platform,
            spine.profile_id,
            spine.day
        from spine
        cross join params
        where spine.day >= params.first_kept_day
    ) as kept
    asof left join readings as base_7d
        on
            kept.platform = base_7d.platform and kept.profile_id = base_7d.profile_id
            and kept.day - 7 >= base_7d.day
    asof left join readings as base_14d
        on
            kept.platform = base_14d.platform and kept.profile_id = base_14d.profile_id
            and kept.day - 14 >= base_14d.day
    asof left join readings as base_28d
        on
            kept.platform = base_28d.platform and kept.profile_id = base_28d.profile_id
            and kept.day - 28 >= base_28d.day
),

observed as (
    select
        spine.*,
        latest.day as reading_day,
        latest.followers as followers_read,
        latest.followers_precision,
        latest.observed_at as followers_observed_at,
        case when latest.day = spine.day then latest.followers - latest.previous_followers end as step_gain,
        case when latest.day = spine.day then latest.previous_followers end as step_from_followers,
        case when latest.day = spine.day then latest.previous_day end as step_from_day,
        case when latest.day = spine.day then greatest(latest.followers_precision, latest.previous_precision) end
            as step_precision,
        case
            when latest.day = spine.day
                then (epoch(latest.observed_at) - epoch(latest.previous_observed_at)) / 86400.0
        end as step_days,
        bases.base_7d_followers,
        bases.base_7d_observed_at,
        bases.base_14d_followers,
        bases.base_14d_observed_at,
        bases.base_28d_followers,
        bases.base_28d_observed_at
    from spine
    asof left join readings as latest
        on spine.platform = latest.platform and spine.profile_id = latest.profile_id and spine.day >= latest.day
    left join bases
        on spine.platform = bases.platform and spine.profile_id = bases.profile_id and spine.day = bases.day
),

filled as (
    select
        observed.*,
        coalesce(observed.day - observed.reading_day > params.max_staleness_days, false) as followers_stale,
        case when observed.day - observed.reading_day <= params.max_staleness_days then observed.followers_read end
            as followers,
        coalesce(
            max(post_days.post_day) over (
                partition by observed.platform, observed.profile_id
                order by observed.day
                rows between unbounded preceding and current row
            ),
            observed.carried_post_day
        ) as last_post_day
    from observed
    cross join params
    left join post_days
        on
            observed.platform = post_days.platform
            and observed.profile_id = post_days.profile_id
            and observed.day = post_days.post_day
),

tiered as (
    select
        filled.*,
        cfg_tiers.name as tier,
        cfg_tiers.tier_order
    from filled
    left join cfg_tiers
        on
            filled.followers >= cfg_tiers.min_followers
            and (cfg_tiers.max_followers is null or filled.followers <= cfg_tiers.max_followers)
)

select * from tiered
