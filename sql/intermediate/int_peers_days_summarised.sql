-- Peer medians per (platform, tier, day), over profiles not flagged suspicious. Peers for a measure
-- are the profiles that have that measure (SPEC section 3): each median, and the count that decides
-- whether the platform is a big enough group, counts only the profiles where the measure is known.
-- A platform's tier with fewer than cfg_rising.min_peers such profiles borrows the tier's
-- cross-platform median of that measure: a median of three accounts is not a benchmark.
with

honest as (
    select
        platform,
        tier,
        day,
        follower_growth_pct_28d,
        follower_growth_pct_14d,
        engagement_rate_28d,
        engagement_rate_14d
    from int_profiles_days_screened
    where tier is not null and not is_suspicious
),

per_platform as (
    select
        platform,
        tier,
        day,
        count(follower_growth_pct_28d) as growth_28d_peers,
        median(follower_growth_pct_28d) as growth_pct_28d,
        count(follower_growth_pct_14d) as growth_14d_peers,
        median(follower_growth_pct_14d) as growth_pct_14d,
        count(engagement_rate_28d) as engagement_28d_peers,
        median(engagement_rate_28d) as engagement_rate_28d,
        count(engagement_rate_14d) as engagement_14d_peers,
        median(engagement_rate_14d) as engagement_rate_14d
    from honest
    group by platform, tier, day
),

all_platforms as (
    select
        tier,
        day,
        median(follower_growth_pct_28d) as growth_pct_28d,
        median(follower_growth_pct_14d) as growth_pct_14d,
        median(engagement_rate_28d) as engagement_rate_28d,
        median(engagement_rate_14d) as engagement_rate_14d
    from honest
    group by tier, day
),

chosen as (
    select
        per_platform.platform,
        per_platform.tier,
        per_platform.day,
        per_platform.growth_28d_peers,
        per_platform.growth_14d_peers,
        per_platform.growth_28d_peers >= cfg_rising.min_peers as platform_scope_28d,
        per_platform.growth_14d_peers >= cfg_rising.min_peers as platform_scope_14d,
        case
            when per_platform.growth_28d_peers >= cfg_rising.min_peers then per_platform.growth_pct_28d
            else all_platforms.growth_pct_28d
        end as peer_median_growth_pct_28d,
        case
            when per_platform.growth_14d_peers >= cfg_rising.min_peers then per_platform.growth_pct_14d
            else all_platforms.growth_pct_14d
        end as peer_median_growth_pct_14d,
        case
            when per_platform.engagement_28d_peers >= cfg_rising.min_peers then per_platform.engagement_rate_28d
            else all_platforms.engagement_rate_28d
        end as peer_median_engagement_rate_28d,
        case
            when per_platform.engagement_14d_peers >= cfg_rising.min_peers then per_platform.engagement_rate_14d
            else all_platforms.engagement_rate_14d
        end as peer_median_engagement_rate_14d
    from per_platform
    inner join all_platforms
        on per_platform.tier = all_platforms.tier and per_platform.day = all_platforms.day
    cross join cfg_rising
)

select * from chosen
