-- Adds the growth, engagement and spike measures of each profile-day (docs/SCORES.md).
-- Trailing windows come from engagement_trailing; a missing window row means zero activity.
-- A 14-day window is read when engagement_trailing has it, else it is the two 7-day windows it
-- is made of (the additive metrics add up exactly).
-- Growth over an N-day window runs from the reading at or before the window's start to the last
-- reading in the window, over the real time between them (growth_observed_days); null (never 0)
-- when either is missing. Jumps are screened per reading step, over the time the step took.
-- The 28-day rolling measures (jumps, the usual daily change, sponsored vs organic) read the
-- days from stg_run_params.first_day (the longest window), so the days from recompute_from on are
-- exact without reading the whole history. Rows are kept from the day before recompute_from (the
-- mart's tier change compares a day with the one before) and every other measure is computed for
-- those rows only: a night recomputes one day, not its 28 days of context (issue 20).
with

params as (
    select
        first_day,
        max_window_days,
        first_kept_day
    from stg_run_params
),

context_days as (
    select int_profiles_days_filled.*
    from int_profiles_days_filled
    cross join params
    where int_profiles_days_filled.day >= params.first_day
),

days as (
    select context_days.*
    from context_days
    cross join params
    where context_days.day >= params.first_kept_day
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
        coalesce(w14.interactions, coalesce(w7.interactions, 0) + coalesce(w7_prev.interactions, 0))
            as interactions_14d,
        coalesce(w14_prev.interactions, coalesce(w7_14.interactions, 0) + coalesce(w7_21.interactions, 0))
            as interactions_prev_14d,
        coalesce(w28.posts, 0) as posts_28d,
        coalesce(w28_prev.posts, 0) as posts_prev_28d,
        coalesce(w14.posts, coalesce(w7.posts, 0) + coalesce(w7_prev.posts, 0)) as posts_14d,
        coalesce(w14_prev.posts, coalesce(w7_14.posts, 0) + coalesce(w7_21.posts, 0)) as posts_prev_14d,
        coalesce(w28.sponsored_posts, 0) as sponsored_posts_28d,
        coalesce(w28.likes, 0) as likes_28d,
        coalesce(w28.comments, 0) as comments_28d,
        coalesce(w28.creator_replies, 0) as creator_replies_28d,
        coalesce(w28.unique_engagers, 0) as unique_engagers_28d,
        coalesce(w28_prev.unique_engagers, 0) as unique_engagers_prev_28d
    from days
    left join windows as w28
        on
            days.platform = w28.platform and days.profile_id = w28.profile_id
            and w28.window_days = 28 and days.day = w28.window_end
    left join windows as w28_prev
        on
            days.platform = w28_prev.platform and days.profile_id = w28_prev.profile_id
            and w28_prev.window_days = 28 and w28_prev.window_end = days.day - 28
    left join windows as w14
        on
            days.platform = w14.platform and days.profile_id = w14.profile_id
            and w14.window_days = 14 and days.day = w14.window_end
    left join windows as w14_prev
        on
            days.platform = w14_prev.platform and days.profile_id = w14_prev.profile_id
            and w14_prev.window_days = 14 and w14_prev.window_end = days.day - 14
    left join windows as w7
        on
            days.platform = w7.platform and days.profile_id = w7.profile_id
            and w7.window_days = 7 and days.day = w7.window_end
    left join windows as w7_prev
        on
            days.platform = w7_prev.platform and days.profile_id = w7_prev.profile_id
            and w7_prev.window_days = 7 and w7_prev.window_end = days.day - 7
    left join windows as w7_14
        on
            days.platform = w7_14.platform and days.profile_id = w7_14.profile_id
            and w7_14.window_days = 7 and w7_14.window_end = days.day - 14
    left join windows as w7_21
        on
            days.platform = w7_21.platform and days.profile_id = w7_21.profile_id
            and w7_21.window_days = 7 and w7_21.window_end = days.day - 21
),

growth as (
    select
        *,
        -- the last reading in an N-day window is the latest reading when it is no older than the window
        case when reading_day > day - 28 and base_28d_followers is not null then followers_read end
            as last_28d_followers,
        case when reading_day > day - 14 and base_14d_followers is not null then followers_read end
            as last_14d_followers,
        case when reading_day > day - 7 and base_7d_followers is not null then followers_read end
            as last_7d_followers,
        (epoch(followers_observed_at) - epoch(base_28d_observed_at)) / 86400.0 as days_since_base_28d,
        (epoch(followers_observed_at) - epoch(base_14d_observed_at)) / 86400.0 as days_since_base_14d,
        (epoch(followers_observed_at) - epoch(base_7d_observed_at)) / 86400.0 as days_since_base_7d,
        day - last_post_day as days_since_last_post
    from joined
),

steps as (
    -- what the rolling measures read, for every context day: the reading step taken on the day and
    -- the day's sponsored / organic interactions
    select
        context_days.platform,
        context_days.profile_id,
        context_days.day,
        context_days.step_gain,
        abs(context_days.step_gain) / nullif(context_days.step_days, 0) as step_rate,
        {
            'gain': context_days.step_gain, 'day': context_days.day, 'from_day': context_days.step_from_day,
            'days': context_days.step_days, 'precision': context_days.step_precision,
            'from_followers': context_days.step_from_followers
        } as step,
        coalesce(split.sponsored_interactions, 0) as sponsored_interactions_today,
        coalesce(split.organic_interactions, 0) as organic_interactions_today
    from context_days
    left join int_profiles_days_sponsorship as split
        on
            context_days.platform = split.platform and context_days.profile_id = split.profile_id
            and context_days.day = split.day
),

rolling as (
    -- the reading steps and sponsored / organic interactions of the last 28 days, over a narrow
    -- row joined back by key: DuckDB's window operator carries every column of its input (issue 20)
    select
        platform,
        profile_id,
        day,
        sum(sponsored_interactions_today) over last_28 as sponsored_interactions_28d,
        sum(organic_interactions_today) over last_28 as organic_interactions_28d,
        -- the largest rise (the jump candidate) and the largest fall, each one step (ties: the later step)
        arg_max(step, (step_gain, day)) filter (where step_gain is not null) over last_28 as jump,
        arg_min(step, (step_gain, -epoch(day))) filter (where step_gain is not null) over last_28 as fall,
        median(step_rate) over last_28 as median_abs_daily_change
    from steps
    window last_28 as (
        partition by platform, profile_id order by day rows between 27 preceding and current row
    )
),

rolled as (
    select
        growth.*,
        rolling.sponsored_interactions_28d,
        rolling.organic_interactions_28d,
        rolling.jump,
        rolling.fall,
        rolling.median_abs_daily_change
    from growth
    inner join rolling
        on growth.platform = rolling.platform and growth.profile_id = rolling.profile_id and growth.day = rolling.day
),

windowed as (
    select
        * exclude (sponsored_interactions_28d, organic_interactions_28d, jump, fall, median_abs_daily_change),
        base_28d_followers as followers_28d_ago,
        last_28d_followers - base_28d_followers as follower_growth_28d,
        (last_28d_followers - base_28d_followers) / nullif(base_28d_followers, 0) as follower_growth_pct_28d,
        case when last_28d_followers is not null then days_since_base_28d end as growth_observed_days,
        last_14d_followers - base_14d_followers as follower_growth_14d,
        (last_14d_followers - base_14d_followers) / nullif(base_14d_followers, 0) as follower_growth_pct_14d,
        case when last_14d_followers is not null then days_since_base_14d end as growth_observed_days_14d,
        last_7d_followers - base_7d_followers as follower_growth_7d,
        (last_7d_followers - base_7d_followers) / nullif(base_7d_followers, 0) as follower_growth_pct_7d,
        case when last_7d_followers is not null then days_since_base_7d end as growth_observed_days_7d,
        sponsored_interactions_28d,
        organic_interactions_28d,
        jump,
        fall,
        median_abs_daily_change
    from rolled
),

unpacked as (
    select
        * exclude (jump, fall),
        jump['gain'] as max_daily_gain,
        jump['day'] as max_gain_day,
        jump['from_day'] as max_gain_from_day,
        jump['days'] as max_gain_step_days,
        jump['precision'] as max_gain_precision,
        jump['from_followers'] as followers_before_jump,
        fall['gain'] as min_daily_gain,
        fall['day'] as min_gain_day,
        fall['precision'] as min_gain_precision
    from windowed
),

measured as (
    select
        *,
        interactions_28d / nullif(followers, 0) as engagement_rate_28d,
        interactions_14d / nullif(followers, 0) as engagement_rate_14d,
        interactions_7d / nullif(followers, 0) as engagement_rate_7d,
        interactions_28d / nullif(interactions_prev_28d, 0) - 1 as interaction_growth_pct_28d,
        interactions_14d / nullif(interactions_prev_14d, 0) - 1 as interaction_growth_pct_14d,
        interactions_28d / nullif(posts_28d, 0) as interactions_per_post_28d,
        (interactions_28d / nullif(posts_28d, 0))
        / nullif(interactions_prev_28d / nullif(posts_prev_28d, 0), 0) - 1 as per_post_growth_pct_28d,
        (interactions_14d / nullif(posts_14d, 0))
        / nullif(interactions_prev_14d / nullif(posts_prev_14d, 0), 0) - 1 as per_post_growth_pct_14d,
        max_daily_gain / nullif(followers_before_jump, 0) as max_jump_pct,
        max_daily_gain / nullif(follower_growth_28d, 0) as max_daily_gain_share,
        -- the step against what the profile's usual pace would have gained over the same time
        -- (at least the step's precision: a pace below the rounding is not measured)
        max_daily_gain / greatest(coalesce(median_abs_daily_change, 0) * max_gain_step_days, max_gain_precision, 1)
            as max_daily_gain_vs_baseline,
        follower_growth_28d / nullif(growth_observed_days, 0) as avg_daily_gain_28d,
        follower_growth_7d / nullif(growth_observed_days_7d, 0) as follower_velocity_7d,
        follower_growth_7d / nullif(growth_observed_days_7d, 0)
        - (base_7d_followers - base_14d_followers)
        / nullif((epoch(base_7d_observed_at) - epoch(base_14d_observed_at)) / 86400.0, 0)
            as follower_acceleration_7d,
        unique_engagers_28d / nullif(unique_engagers_prev_28d, 0) - 1 as unique_engager_growth_pct_28d,
        comments_28d / nullif(likes_28d, 0) as comments_per_like_28d,
        creator_replies_28d / nullif(comments_28d, 0) as creator_reply_rate_28d,
        posts_28d / 4.0 as posts_per_week_28d,
        posts_14d / 2.0 as posts_per_week_14d,
        (sponsored_interactions_28d / nullif(sponsored_posts_28d, 0))
        / nullif(organic_interactions_28d / nullif(posts_28d - sponsored_posts_28d, 0), 0)
            as sponsored_vs_organic_28d
    from unpacked
)

select * from measured
