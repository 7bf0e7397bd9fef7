-- Adds the growth, engagement and spike measures of each profile-day (docs/SCORES.md).
-- Trailing windows come from engagement_trailing; a missing window row means zero activity.
-- Rows start at stg_run_params.first_day (the longest lag and rolling window below),
-- so the days from recompute_from on are exact without reading the whole history.
with

params as (
    select
        first_day,
        max_window_days
    from stg_run_params
),

days as (
    select int_profiles_days_filled.*
    from int_profiles_days_filled
    cross join params
    where int_profiles_days_filled.day >= params.first_day
),

windows as (
    select
        platform,
        profile_id,
        window_end,
        window_days,
        interactions,
        posts,
        sponsored_posts,
        likes,
        comments,
        creator_replies,
        unique_engagers
    from stg_engagement_trailing
    where window_end >= (select params.first_day - params.max_window_days from params)
),

joined as (
    select
        days.*,
        coalesce(w28.interactions, 0) as interactions_28d,
        coalesce(w28_prev.interactions, 0) as interactions_prev_28d,
        coalesce(w7.interactions, 0) as interactions_7d,
        coalesce(w7_prev.interactions, 0) as interactions_prev_7d,
        coalesce(w28.posts, 0) as posts_28d,
        coalesce(w28_prev.posts, 0) as posts_prev_28d,
        coalesce(w28.sponsored_posts, 0) as sponsored_posts_28d,
        coalesce(w28.likes, 0) as likes_28d,
        coalesce(w28.comments, 0) as comments_28d,
        coalesce(w28.creator_replies, 0) as creator_replies_28d,
        coalesce(w28.unique_engagers, 0) as unique_engagers_28d,
        coalesce(w28_prev.unique_engagers, 0) as unique_engagers_prev_28d,
        coalesce(split.sponsored_interactions, 0) as sponsored_interactions_today,
        coalesce(split.organic_interactions, 0) as organic_interactions_today
    from days
    left join windows as w28
        on
            days.platform = w28.platform and days.profile_id = w28.profile_id
            and w28.window_days = 28 and days.day = w28.window_end
    left join windows as w28_prev
        on
            days.platform = w28_prev.platform and days.profile_id = w28_prev.profile_id
            and w28_prev.window_days = 28 and w28_prev.window_end = days.day - 28
    left join windows as w7
        on
            days.platform = w7.platform and days.profile_id = w7.profile_id
            and w7.window_days = 7 and days.day = w7.window_end
    left join windows as w7_prev
        on
            days.platform = w7_prev.platform and days.profile_id = w7_prev.profile_id
            and w7_prev.window_days = 7 and w7_prev.window_end = days.day - 7
    left join int_profiles_days_sponsorship as split
        on days.platform = split.platform and days.profile_id = split.profile_id and days.day = split.day
),

daily_change as (
    select
        *,
        lag(followers, 28) over profile_days as followers_28d_ago,
        lag(followers, 7) over profile_days as followers_7d_ago,
        lag(followers, 14) over profile_days as followers_14d_ago,
        day - last_post_day as days_since_last_post,
        sum(sponsored_interactions_today) over (
            partition by platform, profile_id order by day rows between 27 preceding and current row
        ) as sponsored_interactions_28d,
        sum(organic_interactions_today) over (
            partition by platform, profile_id order by day rows between 27 preceding and current row
        ) as organic_interactions_28d,
        lag(followers, 1) over profile_days as followers_yesterday,
        followers - lag(followers, 1) over profile_days as daily_gain
    from joined
    window profile_days as (partition by platform, profile_id order by day)
),

last_28_days as (
    select
        *,
        max(daily_gain) over last_28 as max_daily_gain,
        arg_max(day, daily_gain) over last_28 as max_gain_day,
        arg_max(followers_yesterday, daily_gain) over last_28 as followers_before_jump,
        min(daily_gain) over last_28 as min_daily_gain,
        arg_min(day, daily_gain) over last_28 as min_gain_day,
        median(abs(daily_gain)) over last_28 as median_abs_daily_change
    from daily_change
    window last_28 as (
        partition by platform, profile_id order by day rows between 27 preceding and current row
    )
),

measured as (
    select
        *,
        followers - followers_28d_ago as follower_growth_28d,
        (followers - followers_28d_ago) / nullif(followers_28d_ago, 0) as follower_growth_pct_28d,
        interactions_28d / nullif(followers, 0) as engagement_rate_28d,
        interactions_28d / nullif(interactions_prev_28d, 0) - 1 as interaction_growth_pct_28d,
        interactions_28d / nullif(posts_28d, 0) as interactions_per_post_28d,
        (interactions_28d / nullif(posts_28d, 0))
        / nullif(interactions_prev_28d / nullif(posts_prev_28d, 0), 0) - 1 as per_post_growth_pct_28d,
        max_daily_gain / nullif(followers_before_jump, 0) as max_jump_pct,
        max_daily_gain / nullif(followers - followers_28d_ago, 0) as max_daily_gain_share,
        max_daily_gain / greatest(median_abs_daily_change, 1) as max_daily_gain_vs_baseline,
        (followers - followers_28d_ago) / 28.0 as avg_daily_gain_28d,
        followers - followers_7d_ago as follower_growth_7d,
        (followers - followers_7d_ago) / nullif(followers_7d_ago, 0) as follower_growth_pct_7d,
        (followers - followers_7d_ago) / 7.0 as follower_velocity_7d,
        (followers - followers_7d_ago) / 7.0 - (followers_7d_ago - followers_14d_ago) / 7.0
            as follower_acceleration_7d,
        interactions_7d / nullif(followers, 0) as engagement_rate_7d,
        unique_engagers_28d / nullif(unique_engagers_prev_28d, 0) - 1 as unique_engager_growth_pct_28d,
        comments_28d / nullif(likes_28d, 0) as comments_per_like_28d,
        creator_replies_28d / nullif(comments_28d, 0) as creator_reply_rate_28d,
        posts_28d / 4.0 as posts_per_week_28d,
        (sponsored_interactions_28d / nullif(sponsored_posts_28d, 0))
        / nullif(organic_interactions_28d / nullif(posts_28d - sponsored_posts_28d, 0), 0)
            as sponsored_vs_organic_28d
    from last_28_days
)

select * from measured
