-- Peer medians per (platform, tier, day), over profiles not flagged suspicious.
-- A platform's tier with fewer than cfg_rising.min_peers profiles borrows the tier's
-- cross-platform medians: a median of three accounts is not a benchmark.
with

honest as (
    select
        platform,
        tier,
        day,
        follower_growth_pct_28d,
        engagement_rate_28d
    from int_profiles_days_screened
    where tier is not null and not is_suspicious
),

per_platform as (
    select
        platform,
        tier,
        day,
        count(*) as peer_count,
        median(follower_growth_pct_28d) as median_growth_pct_28d,
        median(engagement_rate_28d) as median_engagement_rate_28d
    from honest
    group by platform, tier, day
),

all_platforms as (
    select
        tier,
        day,
        median(follower_growth_pct_28d) as median_growth_pct_28d,
        median(engagement_rate_28d) as median_engagement_rate_28d
    from honest
    group by tier, day
),

chosen as (
    select
        per_platform.platform,
        per_platform.tier,
        per_platform.day,
        per_platform.peer_count,
        per_platform.peer_count >= cfg_rising.min_peers as platform_scope,
        case
            when per_platform.peer_count >= cfg_rising.min_peers then per_platform.median_growth_pct_28d
            else all_platforms.median_growth_pct_28d
        end as peer_median_growth_pct_28d,
        case
            when per_platform.peer_count >= cfg_rising.min_peers then per_platform.median_engagement_rate_28d
            else all_platforms.median_engagement_rate_28d
        end as peer_median_engagement_rate_28d
    from per_platform
    inner join all_platforms
        on per_platform.tier = all_platforms.tier and per_platform.day = all_platforms.day
    cross join cfg_rising
)

select * from chosen
