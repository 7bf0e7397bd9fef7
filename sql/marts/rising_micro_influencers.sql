-- Rising micro influencers, best first per platform and day, with their reasons.
with

rising as (
    select
        day,
        platform,
        rising_rank,
        profile_id,
        followers,
        tier,
        rising_score,
        follower_growth_pct_28d,
        engagement_rate_28d,
        rising_reasons
    from profile_daily
    where is_rising
)

select * from rising
order by day desc, platform asc, rising_rank asc
