-- profile_daily: followers, tier, tier changes, the suspicious-growth flag and the rising flag,
-- per profile and day. Formulas: docs/SCORES.md. Every threshold comes from cfg_rising / cfg_spike.
with

settings as (
    select
        cfg_rising.*,
        cfg_spike.*,
        (
            select min(cfg_tiers.min_followers) from cfg_tiers
            where cfg_tiers.name = 'micro'
        ) as micro_floor
    from cfg_rising
    cross join cfg_spike
),

-- Window functions run over narrow CTEs (the keys and what they order by) joined back by key:
-- DuckDB's window operator carries every column of its input, and a wide row made each one
-- several times slower than the join (issue 20).
previous_tiers as (
    select
        platform,
        profile_id,
        day,
        lag(tier) over (partition by platform, profile_id order by day) as previous_tier
    from int_profiles_days_screened
),

measured as (
    select
        days.*,
        settings.*,
        peers.peer_median_growth_pct_28d,
        peers.peer_median_growth_pct_14d,
        peers.peer_median_engagement_rate_28d,
        peers.peer_median_engagement_rate_14d,
        cadence.platform_median_posts_per_week_28d,
        cadence.platform_median_posts_per_week_14d,
        coalesce(peers.platform_scope_28d, false) as platform_scope_28d,
        coalesce(peers.platform_scope_14d, false) as platform_scope_14d,
        -- the signal window: 28 days once the profile has a 28-day growth, else 14 (SPEC section 3:
        -- two weeks of history can be flagged from the 7- and 14-day signals)
        case
            when days.follower_growth_pct_28d is not null then 28
            when days.follower_growth_pct_14d is not null then 14
        end as signal_window_days,
        previous_tiers.previous_tier
    from int_profiles_days_screened as days
    cross join settings
    left join previous_tiers
        on
            days.platform = previous_tiers.platform and days.profile_id = previous_tiers.profile_id
            and days.day = previous_tiers.day
    left join int_peers_days_summarised as peers
        on days.platform = peers.platform and days.tier = peers.tier and days.day = peers.day
    left join int_platform_days_cadence as cadence
        on days.platform = cadence.platform and days.day = cadence.day
    cross join stg_run_params
    -- only the days the run writes: everything below compares profiles within a day, and the one
    -- look back (previous_tiers) has read the day before already
    where stg_run_params.recompute_from is null or days.day >= stg_run_params.recompute_from
),

signals as (
    -- each signal over the signal window, with the peers of that same measure
    select
        *,
        case signal_window_days when 28 then follower_growth_pct_28d else follower_growth_pct_14d end
            as signal_growth_pct,
        case signal_window_days when 28 then follower_growth_28d else follower_growth_14d end as signal_growth,
        case signal_window_days when 28 then growth_observed_days else growth_observed_days_14d end
            as signal_observed_days,
        case signal_window_days when 28 then base_28d_followers else base_14d_followers end as signal_base_followers,
        case signal_window_days when 28 then peer_median_growth_pct_28d else peer_median_growth_pct_14d end
            as signal_peer_median_growth_pct,
        case signal_window_days when 28 then platform_scope_28d else platform_scope_14d end as platform_scope,
        case signal_window_days when 28 then engagement_rate_28d else engagement_rate_14d end
            as signal_engagement_rate,
        case signal_window_days when 28 then peer_median_engagement_rate_28d else peer_median_engagement_rate_14d end
            as signal_peer_median_engagement_rate,
        case signal_window_days when 28 then per_post_growth_pct_28d else per_post_growth_pct_14d end
            as signal_per_post_growth_pct,
        case signal_window_days when 28 then interaction_growth_pct_28d else interaction_growth_pct_14d end
            as signal_interaction_growth_pct,
        case signal_window_days
            when 28 then interactions_prev_28d + posts_prev_28d
            else interactions_prev_14d + posts_prev_14d
        end as signal_previous_activity,
        case signal_window_days when 28 then posts_28d else posts_14d end as signal_posts,
        case signal_window_days when 28 then posts_per_week_28d else posts_per_week_14d end as signal_posts_per_week,
        case signal_window_days
            when 28 then platform_median_posts_per_week_28d
            else platform_median_posts_per_week_14d
        end as signal_platform_posts_per_week
    from measured
),

compared as (
    select
        *,
        signal_growth_pct / nullif(greatest(signal_peer_median_growth_pct, 0), 0) as growth_vs_peers,
        signal_engagement_rate / nullif(signal_peer_median_engagement_rate, 0) as engagement_vs_peers,
        signal_posts_per_week / nullif(signal_platform_posts_per_week, 0) as posts_vs_platform,
        cast(followers + projection_days * signal_growth / nullif(signal_observed_days, 0) as bigint)
            as projected_followers,
        signal_window_days / 28.0 as window_share
    from signals
),

peer_ranks as (
    -- percent_rank among the peers that have the measure: rows without it are ranked apart, then dropped
    select
        platform,
        profile_id,
        day,
        case when follower_growth_pct_28d is not null then percent_rank() over (
            partition by platform, tier, day, follower_growth_pct_28d is null order by follower_growth_pct_28d
        ) end as pr_growth_pct_28d,
        case when follower_growth_pct_14d is not null then percent_rank() over (
            partition by platform, tier, day, follower_growth_pct_14d is null order by follower_growth_pct_14d
        ) end as pr_growth_pct_14d,
        case when follower_growth_28d is not null then percent_rank() over (
            partition by platform, tier, day, follower_growth_28d is null order by follower_growth_28d
        ) end as pr_growth_abs_28d,
        case when follower_growth_14d is not null then percent_rank() over (
            partition by platform, tier, day, follower_growth_14d is null order by follower_growth_14d
        ) end as pr_growth_abs_14d,
        case when engagement_rate_28d is not null then percent_rank() over (
            partition by platform, tier, day, engagement_rate_28d is null order by engagement_rate_28d
        ) end as pr_engagement_28d,
        case when engagement_rate_14d is not null then percent_rank() over (
            partition by platform, tier, day, engagement_rate_14d is null order by engagement_rate_14d
        ) end as pr_engagement_14d,
        case when per_post_growth_pct_28d is not null then percent_rank() over (
            partition by platform, tier, day, per_post_growth_pct_28d is null order by per_post_growth_pct_28d
        ) end as pr_interaction_growth_28d,
        case when per_post_growth_pct_14d is not null then percent_rank() over (
            partition by platform, tier, day, per_post_growth_pct_14d is null order by per_post_growth_pct_14d
        ) end as pr_interaction_growth_14d
    from compared
),

ranked_in_peers as (
    select
        compared.*,
        peer_ranks.pr_growth_pct_28d,
        peer_ranks.pr_growth_pct_14d,
        peer_ranks.pr_growth_abs_28d,
        peer_ranks.pr_growth_abs_14d,
        peer_ranks.pr_engagement_28d,
        peer_ranks.pr_engagement_14d,
        peer_ranks.pr_interaction_growth_28d,
        peer_ranks.pr_interaction_growth_14d
    from compared
    inner join peer_ranks
        on
            compared.platform = peer_ranks.platform and compared.profile_id = peer_ranks.profile_id
            and compared.day = peer_ranks.day
),

scored as (
    select
        *,
        case when signal_growth_pct is not null and tier is not null then round(100 * (
            weight_growth_pct * (case signal_window_days when 28 then pr_growth_pct_28d else pr_growth_pct_14d end)
            + weight_growth_abs * (case signal_window_days when 28 then pr_growth_abs_28d else pr_growth_abs_14d end)
            + weight_engagement * coalesce(
                case signal_window_days when 28 then pr_engagement_28d else pr_engagement_14d end, 0
            )
            + weight_interaction_growth * coalesce(
                case signal_window_days when 28 then pr_interaction_growth_28d else pr_interaction_growth_14d end, 0
            )
        ), 1) end as rising_score,
        coalesce(
            (
                (tier = 'micro' and signal_growth_pct >= min_growth_pct_28d * window_share)
                or (
                    tier = 'nano'
                    and followers >= nano_min_followers
                    and projected_followers >= micro_floor
                    and signal_growth_pct >= nano_min_growth_pct_28d * window_share
                )
            )
            and not is_suspicious
            -- a one-off jump never makes a profile rising, even when engagement rose with it
            and not has_jump
            and (growth_vs_peers is null or growth_vs_peers >= min_growth_vs_peers)
            and engagement_vs_peers >= min_engagement_vs_peers
            -- interactions per post must hold up; a profile with nothing before the window has no past to fall from
            and (signal_per_post_growth_pct >= min_per_post_growth_pct_28d or signal_previous_activity = 0)
            and signal_posts >= min_posts_in_window
            and posts_vs_platform >= min_posts_vs_platform,
            false
        ) as is_rising
    from ranked_in_peers
),

explained as (
    select
        *,
        case when is_rising then list_filter([
            format(
                'followers {:+d}% in {:d} days ({:,} → {:,}){}{}',
                cast(round(100 * signal_growth_pct) as integer), cast(round(signal_observed_days) as integer),
                signal_base_followers, signal_base_followers + signal_growth,
                case
                    when growth_vs_peers is not null
                        then format(
                            ', {:.1f}x the {} median {}', growth_vs_peers, tier,
                            case when platform_scope then 'on ' || platform else 'across platforms' end
                        )
                    else ''
                end,
                case
                    when followers_precision > 1 then format(' (counts rounded to {:,})', followers_precision) else ''
                end
            ),
            format(
                'engagement rate {:.1f}% over {:d} days, {:.1f}x the {} median',
                100 * signal_engagement_rate, signal_window_days, engagement_vs_peers, tier
            ),
            case when signal_interaction_growth_pct is not null then format(
                'interactions {:+d}% against the previous {:d} days{}',
                cast(round(100 * signal_interaction_growth_pct) as integer), signal_window_days,
                case when signal_per_post_growth_pct is not null then format(
                    ' ({:+d}% per post)', cast(round(100 * signal_per_post_growth_pct) as integer)
                ) else '' end
            ) end,
            format(
                'posting {:.1f} times a week, {:.1f}x the {} median', signal_posts_per_week, posts_vs_platform, platform
            ),
            case when tier = 'nano' then format(
                'projected to pass {:,} followers within {:d} days ({:,} expected)',
                micro_floor, projection_days, projected_followers
            ) end
        ], lambda reason: reason is not null) else [] end as rising_reasons
    from scored
),

rising_ranks as (
    select
        platform,
        profile_id,
        day,
        row_number() over (partition by platform, day order by rising_score desc, profile_id asc) as rising_rank
    from scored
    where is_rising
),

ranked as (
    select
        explained.*,
        rising_ranks.rising_rank
    from explained
    left join rising_ranks
        on
            explained.platform = rising_ranks.platform and explained.profile_id = rising_ranks.profile_id
            and explained.day = rising_ranks.day
),

final as (
    select
        platform,
        profile_id,
        day,
        followers,
        followers_observed_at,
        followers_precision,
        followers_stale,
        tier,
        previous_tier,
        coalesce(tier != previous_tier, false) as tier_changed,
        followers_28d_ago,
        follower_growth_28d,
        follower_growth_pct_28d,
        growth_observed_days,
        follower_growth_14d,
        follower_growth_pct_14d,
        growth_observed_days_14d,
        signal_window_days,
        case when platform_scope then 'platform' else 'all platforms' end as peer_group,
        peer_median_growth_pct_28d,
        peer_median_growth_pct_14d,
        growth_vs_peers,
        follower_growth_7d,
        follower_growth_pct_7d,
        growth_observed_days_7d,
        follower_velocity_7d,
        follower_acceleration_7d,
        interactions_28d,
        engagement_rate_28d,
        engagement_rate_7d,
        peer_median_engagement_rate_28d,
        pr_engagement_28d as engagement_rate_percentile_28d,
        interactions_14d,
        engagement_rate_14d,
        peer_median_engagement_rate_14d,
        interaction_growth_pct_28d,
        unique_engager_growth_pct_28d,
        comments_per_like_28d,
        creator_reply_rate_28d,
        posts_per_week_28d,
        posts_per_week_14d,
        platform_median_posts_per_week_28d,
        platform_median_posts_per_week_14d,
        posts_vs_platform,
        days_since_last_post,
        sponsored_vs_organic_28d,
        interactions_7d,
        interactions_prev_7d,
        posts_28d,
        posts_14d,
        per_post_growth_pct_28d,
        per_post_growth_pct_14d,
        max_daily_gain_share,
        max_daily_gain_vs_baseline,
        projected_followers,
        is_suspicious,
        suspicious_reasons,
        rising_score,
        is_rising,
        rising_rank,
        rising_reasons
    from ranked
)

-- Only the days this run must get right (every day when recompute_from is null): earlier rows
-- would lack the sponsorship split of their first weeks (int_profiles_days_sponsorship).
select final.* from final
cross join stg_run_params
where stg_run_params.recompute_from is null or final.day >= stg_run_params.recompute_from
