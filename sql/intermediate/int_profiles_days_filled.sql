-- One row per profile and day, from the profile's first active day to the as-of day.
-- followers: the latest snapshot at the end of the day, carried forward (null before the first).
-- last_post_day: the latest day with a post up to this day (null before any post).
-- tier: from followers and cfg_tiers (never hard-coded here).
-- Reads only engagement_daily, over the whole history: both carry forward without a bound.
with

params as (
    select as_of from run_params
),

profiles as (
    select
        platform,
        profile_id,
        min(day) as first_day
    from engagement_daily
    group by platform, profile_id
),

spine as (
    select
        profiles.platform,
        profiles.profile_id,
        cast(unnest(generate_series(profiles.first_day, params.as_of, interval 1 day)) as date) as day
    from profiles
    cross join params
    where profiles.first_day <= params.as_of
),

snapshots as (
    select
        platform,
        profile_id,
        day,
        followers_last,
        case when posts > 0 then day end as post_day
    from engagement_daily
),

filled as (
    select
        spine.platform,
        spine.profile_id,
        spine.day,
        last_value(snapshots.followers_last ignore nulls) over (
            partition by spine.platform, spine.profile_id
            order by spine.day
            rows between unbounded preceding and current row
        ) as followers,
        max(snapshots.post_day) over (
            partition by spine.platform, spine.profile_id
            order by spine.day
            rows between unbounded preceding and current row
        ) as last_post_day
    from spine
    left join snapshots
        on
            spine.platform = snapshots.platform
            and spine.profile_id = snapshots.profile_id
            and spine.day = snapshots.day
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
