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

measured as (
    select
        days.*,
        settings.*,
        peers.peer_median_growth_pct_28d,
        peers.peer_median_engagement_rate_28d,
        coalesce(peers.platform_scope, false) as platform_scope,
        days.follower_growth_pct_28d / nullif(greatest(peers.peer_median_growth_pct_28d, 0), 0) as growth_vs_peers,
        days.engagement_rate_28d / nullif(peers.peer_median_engagement_rate_28d, 0) as engagement_vs_peers,
        lag(days.tier) over (partition by days.platform, days.profile_id order by days.day) as previous_tier,
        cast(days.followers + settings.projection_days * days.avg_daily_gain_28d as bigint) as projected_followers
    from int_profiles_days_screened as days
    cross join settings
    left join int_peers_days_summarised as peers
        on days.platform = peers.platform and days.tier = peers.tier and days.day = peers.day
),

ranked_in_peers as (
    select
        *,
        percent_rank() over (peers order by follower_growth_pct_28d) as pr_growth_pct,
        percent_rank() over (peers order by follower_growth_28d) as pr_growth_abs,
        percent_rank() over (peers order by engagement_rate_28d) as pr_engagement,
        percent_rank() over (peers order by per_post_growth_pct_28d) as pr_interaction_growth
    from measured
    window peers as (partition by platform, tier, day)
),

scored as (
    select
        *,
        case when follower_growth_pct_28d is not null then round(100 * (
            weight_growth_pct * pr_growth_pct
            + weight_growth_abs * pr_growth_abs
            + weight_engagement * coalesce(pr_engagement, 0)
            + weight_interaction_growth * coalesce(pr_interaction_growth, 0)
        ), 1) end as rising_score,
        coalesce(
            (
                (tier = 'micro' and follower_growth_pct_28d >= min_growth_pct_28d)
                or (
                    tier = 'nano'
                    and followers >= nano_min_followers
                    and projected_followers >= micro_floor
                    and follower_growth_pct_28d >= nano_min_growth_pct_28d
                )
            )
            and not is_suspicious
            -- a one-off jump never makes a profile rising, even when engagement rose with it
            and not has_jump
            and (growth_vs_peers is null or growth_vs_peers >= min_growth_vs_peers)
            and engagement_vs_peers >= min_engagement_vs_peers
            and per_post_growth_pct_28d >= min_per_post_growth_pct_28d
            and posts_28d >= min_posts_28d,
            false
        ) as is_rising
    from ranked_in_peers
),

explained as (
    select
        *,
        case when is_rising then list_filter([
            format(
                'followers {:+d}% in 28 days ({:,} -> {:,}){}',
                cast(round(100 * follower_growth_pct_28d) as integer), followers_28d_ago, followers,
                case
                    when growth_vs_peers is not null
                        then format(
                            ', {:.1f}x the {} median {}', growth_vs_peers, tier,
                            case when platform_scope then 'on ' || platform else 'across platforms' end
                        )
                    else ''
                end
            ),
            format(
                'engagement rate {:.1f}% over 28 days, {:.1f}x the {} median',
                100 * engagement_rate_28d, engagement_vs_peers, tier
            ),
            format(
                'interactions {:+d}% against the previous 28 days ({:+d}% per post)',
                cast(round(100 * interaction_growth_pct_28d) as integer),
                cast(round(100 * per_post_growth_pct_28d) as integer)
            ),
            format('posting {:.1f} times a week', posts_28d / 4.0),
            case when tier = 'nano' then format(
                'projected to pass {:,} followers within {} days ({:,} expected)',
                micro_floor, projection_days, projected_followers
            ) end
        ], lambda reason: reason is not null) else [] end as rising_reasons
    from scored
),

final as (
    select
        platform,
        profile_id,
        day,
        followers,
        tier,
        previous_tier,
        coalesce(tier != previous_tier, false) as tier_changed,
        followers_28d_ago,
        follower_growth_28d,
        follower_growth_pct_28d,
        case when platform_scope then 'platform' else 'all platforms' end as peer_group,
        peer_median_growth_pct_28d,
        growth_vs_peers,
        follower_growth_7d,
        follower_growth_pct_7d,
        follower_velocity_7d,
        follower_acceleration_7d,
        interactions_28d,
        engagement_rate_28d,
        engagement_rate_7d,
        peer_median_engagement_rate_28d,
        pr_engagement as engagement_rate_percentile_28d,
        interaction_growth_pct_28d,
        unique_engager_growth_pct_28d,
        comments_per_like_28d,
        creator_reply_rate_28d,
        posts_per_week_28d,
        days_since_last_post,
        sponsored_vs_organic_28d,
        interactions_7d,
        interactions_prev_7d,
        posts_28d,
        per_post_growth_pct_28d,
        max_daily_gain_share,
        max_daily_gain_vs_baseline,
        projected_followers,
        is_suspicious,
        suspicious_reasons,
        rising_score,
        is_rising,
        case when is_rising then row_number() over (
            partition by platform, day, is_rising order by rising_score desc, profile_id asc
        ) end as rising_rank,
        rising_reasons
    from explained
)

-- Only the days this run must get right (every day when recompute_from is null): earlier rows
-- would lack the sponsorship split of their first weeks (int_profiles_days_sponsorship).
select final.* from final
cross join stg_run_params
where stg_run_params.recompute_from is null or final.day >= stg_run_params.recompute_from
