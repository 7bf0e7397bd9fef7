-- One row per profile and day, from the profile's first active day to the as-of day.
-- followers: the latest snapshot at the end of the day, carried forward (null before the first).
-- tier: from followers and cfg_tiers (never hard-coded here).
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
        followers_last
    from engagement_daily
    where followers_last is not null
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
        ) as followers
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
