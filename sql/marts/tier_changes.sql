-- Every day a profile moved from one tier to another.
with

changes as (
    select
        platform,
        profile_id,
        day,
        previous_tier,
        tier,
        followers
    from profile_daily
    where tier_changed
)

select * from changes
order by day asc, platform asc, profile_id asc
