-- Posting cadence of each platform and day (SPEC section 3: cadence is judged against the
-- platform's peers, not one global number; a YouTube channel posting weekly is active):
-- the median posts per week over 28 and 14 days among the platform's profiles that posted in
-- that window, every tier together.
with

cadence as (
    select
        platform,
        day,
        median(posts_per_week_28d) filter (where posts_28d > 0) as platform_median_posts_per_week_28d,
        median(posts_per_week_14d) filter (where posts_14d > 0) as platform_median_posts_per_week_14d
    from int_profiles_days_screened
    group by platform, day
)

select * from cadence
