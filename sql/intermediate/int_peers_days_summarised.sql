-- Peer groups are (platform, tier, day): the medians every profile is compared against.
with

peers as (
    select
        platform,
        tier,
        day,
        count(*) as peer_count,
        median(follower_growth_pct_28d) as peer_median_growth_pct_28d,
        median(engagement_rate_28d) as peer_median_engagement_rate_28d
    from int_profiles_days_measured
    where tier is not null
    group by platform, tier, day
)

select * from peers
