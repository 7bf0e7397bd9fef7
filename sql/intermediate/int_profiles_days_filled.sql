-- One row per profile and day, from the profile's first active day (or stg_run_params.first_day,
-- whichever is later: the lags of int_profiles_days_measured reach no
-- further back) to the as-of day.
-- followers: the latest snapshot at the end of the day, carried forward (null before the first).
-- last_post_day: the latest day with a post up to this day (null before any post).
-- tier: from followers and cfg_tiers (never hard-coded here).
-- Reads only engagement_daily. The days before the first row count only through what they carry
-- forward (one aggregate per profile), so the windowed part follows the days being computed.
with

params as (
    select
        as_of,
        first_day
    from stg_run_params
),

profiles as (
    select
        engagement_daily.platform,
        engagement_daily.profile_id,
        min(engagement_daily.day) as first_active_day,
        arg_max(engagement_daily.followers_last, engagement_daily.day) filter (
            where engagement_daily.followers_last is not null and engagement_daily.day < params.first_day
        ) as carried_followers,
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
        profiles.carried_followers,
        profiles.carried_post_day,
        cast(unnest(generate_series(
            greatest(profiles.first_active_day, params.first_day), params.as_of, interval 1 day
        )) as date) as day
    from profiles
    cross join params
    where profiles.first_active_day <= params.as_of
),

snapshots as (
    select
        engagement_daily.platform,
        engagement_daily.profile_id,
        engagement_daily.day,
        engagement_daily.followers_last,
        case when engagement_daily.posts > 0 then engagement_daily.day end as post_day
    from stg_engagement_daily as engagement_daily
    cross join params
    where engagement_daily.day >= params.first_day
),

filled as (
    select
        spine.platform,
        spine.profile_id,
        spine.day,
        coalesce(
            last_value(snapshots.followers_last ignore nulls) over (
                partition by spine.platform, spine.profile_id
                order by spine.day
                rows between unbounded preceding and current row
            ),
            spine.carried_followers
        ) as followers,
        coalesce(
            max(snapshots.post_day) over (
                partition by spine.platform, spine.profile_id
                order by spine.day
                rows between unbounded preceding and current row
            ),
            spine.carried_post_day
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
