-- profile_daily: followers, tier, tier changes, the suspicious-growth flag and the rising flag,
-- per profile and day. Formulas and thresholds: docs/SCORES.md; numbers: cfg_rising, cfg_spike.
with

measured as (
    select
        days.*,
        peers.peer_median_growth_pct_28d,
        peers.peer_median_engagement_rate_28d,
        days.follower_growth_pct_28d / nullif(greatest(peers.peer_median_growth_pct_28d, 0), 0) as growth_vs_peers,
        days.engagement_rate_28d / nullif(peers.peer_median_engagement_rate_28d, 0) as engagement_vs_peers,
        lag(days.tier) over (partition by days.platform, days.profile_id order by days.day) as previous_tier,
        cast(days.followers + cfg_rising.projection_days * days.avg_daily_gain_28d as bigint) as projected_followers
    from int_profiles_days_measured as days
    cross join cfg_rising
    left join int_peers_days_summarised as peers
        on days.platform = peers.platform and days.tier = peers.tier and days.day = peers.day
),

spike_checks as (
    select
        measured.*,
        coalesce(
            max_jump_pct >= cfg_spike.min_jump_pct
            and max_daily_gain_vs_baseline >= cfg_spike.min_jump_vs_baseline
            and max_daily_gain_share >= cfg_spike.min_jump_share_of_growth,
            false
        ) as has_jump,
        coalesce(
            interaction_growth_pct_28d < cfg_spike.max_interaction_growth_share * follower_growth_pct_28d,
            interactions_prev_28d = 0
        ) as engagement_flat,
        coalesce(
            min_gain_day > max_gain_day and -min_daily_gain >= cfg_spike.min_drop_share_of_jump * max_daily_gain,
            false
        ) as dropped_after_jump,
        coalesce(max_daily_gain % cfg_spike.round_jump_multiple = 0, false) as round_jump
    from measured
    cross join cfg_spike
),

suspicious as (
    select
        *,
        has_jump and engagement_flat as is_suspicious,
        case
            when has_jump and engagement_flat then list_filter([
                format(
                    'gained {:,} followers on {} (+{:d}%), {:.0f}x its usual daily change',
                    max_daily_gain, strftime(max_gain_day, '%Y-%m-%d'),
                    cast(round(100 * max_jump_pct) as integer), max_daily_gain_vs_baseline
                ),
                format(
                    'engagement did not follow: interactions {:+d}% while followers {:+d}% in 28 days',
                    cast(round(100 * coalesce(interaction_growth_pct_28d, 0)) as integer),
                    cast(round(100 * follower_growth_pct_28d) as integer)
                ),
                case when dropped_after_jump then format('lost {:,} followers in one day after the jump', -min_daily_gain) end,
                case when round_jump then format('the jump is a round number ({:,})', max_daily_gain) end
            ], lambda reason: reason is not null)
            else []
        end as suspicious_reasons
    from spike_checks
),

ranked_in_peers as (
    select
        *,
        percent_rank() over peers_by_day_growth as pr_growth_pct,
        percent_rank() over peers_by_day_abs as pr_growth_abs,
        percent_rank() over peers_by_day_er as pr_engagement,
        percent_rank() over peers_by_day_ig as pr_interaction_growth
    from suspicious
    window
        peers_by_day_growth as (partition by platform, tier, day order by follower_growth_pct_28d),
        peers_by_day_abs as (partition by platform, tier, day order by follower_growth_28d),
        peers_by_day_er as (partition by platform, tier, day order by engagement_rate_28d),
        peers_by_day_ig as (partition by platform, tier, day order by interaction_growth_pct_28d)
),

scored as (
    select
        ranked_in_peers.*,
        case when follower_growth_pct_28d is not null then round(100 * (
            cfg_rising.weight_growth_pct * pr_growth_pct
            + cfg_rising.weight_growth_abs * pr_growth_abs
            + cfg_rising.weight_engagement * coalesce(pr_engagement, 0)
            + cfg_rising.weight_interaction_growth * coalesce(pr_interaction_growth, 0)
        ), 1) end as rising_score,
        coalesce(
            (tier = 'micro' or (
                tier = 'nano'
                and followers >= cfg_rising.nano_min_followers
                and projected_followers >= (select min(min_followers) from cfg_tiers where name = 'micro')
            ))
            and not is_suspicious
            and follower_growth_pct_28d >= cfg_rising.min_growth_pct_28d
            and (growth_vs_peers is null or growth_vs_peers >= cfg_rising.min_growth_vs_peers)
            and engagement_vs_peers >= cfg_rising.min_engagement_vs_peers
            and interaction_growth_pct_28d
            >= cfg_rising.min_interaction_growth_share * follower_growth_pct_28d
            and posts_28d >= cfg_rising.min_posts_28d,
            false
        ) as is_rising
    from ranked_in_peers
    cross join cfg_rising
),

with_floor as (
    select
        scored.*,
        cfg_rising.projection_days,
        (select min(cfg_tiers.min_followers) from cfg_tiers where cfg_tiers.name = 'micro') as micro_floor
    from scored
    cross join cfg_rising
),

explained as (
    select
        *,
        case when is_rising then list_filter([
            format(
                'followers {:+d}% in 28 days ({:,} -> {:,}){}',
                cast(round(100 * follower_growth_pct_28d) as integer), followers_28d_ago, followers,
                case when growth_vs_peers is not null
                    then format(', {:.1f}x the {} median on {}', growth_vs_peers, tier, platform)
                    else ''
                end
            ),
            format(
                'engagement rate {:.1f}% over 28 days, {:.1f}x the {} median',
                100 * engagement_rate_28d, engagement_vs_peers, tier
            ),
            format('interactions {:+d}% against the previous 28 days', cast(round(100 * interaction_growth_pct_28d) as integer)),
            format('posting {:.1f} times a week', posts_28d / 4.0),
            case when tier = 'nano' then format(
                'projected to pass {:,} followers within {} days ({:,} expected)',
                micro_floor, projection_days, projected_followers
            ) end
        ], lambda reason: reason is not null) else [] end as rising_reasons
    from with_floor
),

final as (
    select
        platform,
        profile_id,
        day,
        followers,
        tier,
        previous_tier,
        coalesce(tier is distinct from previous_tier and previous_tier is not null and tier is not null, false)
            as tier_changed,
        followers_28d_ago,
        follower_growth_28d,
        follower_growth_pct_28d,
        peer_median_growth_pct_28d,
        growth_vs_peers,
        interactions_28d,
        engagement_rate_28d,
        peer_median_engagement_rate_28d,
        interactions_7d,
        interactions_prev_7d,
        posts_28d,
        max_daily_gain_share,
        max_daily_gain_vs_baseline,
        projected_followers,
        is_suspicious,
        suspicious_reasons,
        rising_score,
        is_rising,
        case when is_rising then rank() over (
            partition by platform, day, is_rising order by rising_score desc, profile_id
        ) end as rising_rank,
        rising_reasons
    from explained
)

select * from final
