-- Screens every profile-day for bought followers: a one-off jump that engagement did not follow.
-- A jump is one reading step (from one follower reading to the next, however far apart); a change
-- within the readings' precision is no evidence of anything, and a rounded count is no round number.
-- Runs before the peer medians so suspicious profiles never set the bar for honest peers.
with

checks as (
    select
        days.*,
        coalesce(
            days.max_daily_gain > days.max_gain_precision
            and days.max_jump_pct >= cfg_spike.min_jump_pct
            and days.max_daily_gain_vs_baseline >= cfg_spike.min_jump_vs_baseline
            and days.max_daily_gain_share >= cfg_spike.min_jump_share_of_growth,
            false
        ) as has_jump,
        -- Interactions per post, not raw interactions: posting more often is not an audience.
        -- Known only when both 28-day windows have posts with engagement: no data is no evidence.
        coalesce(
            days.per_post_growth_pct_28d
            < cfg_spike.max_interaction_growth_share * days.follower_growth_pct_28d,
            false
        ) as engagement_flat,
        coalesce(
            days.min_gain_day > days.max_gain_day
            and -days.min_daily_gain > days.min_gain_precision
            and -days.min_daily_gain >= cfg_spike.min_drop_share_of_jump * days.max_daily_gain,
            false
        ) as dropped_after_jump,
        coalesce(
            days.max_gain_precision = 1 and days.max_daily_gain % cfg_spike.round_jump_multiple = 0, false
        ) as round_jump
    from int_profiles_days_measured as days
    cross join cfg_spike
),

screened as (
    select
        *,
        -- A jump is suspicious with any one sign of purchase: engagement that did not follow it,
        -- a drop soon after it, or a round number.
        has_jump and (engagement_flat or dropped_after_jump or round_jump) as is_suspicious,
        case when has_jump and (engagement_flat or dropped_after_jump or round_jump) then list_filter([
            case
                when max_gain_step_days <= 1.5
                    then
                        format(
                            'gained {:,} followers on {} (+{:d}%), {:,.0f}x its usual daily change',
                            max_daily_gain, strftime(max_gain_day, '%Y-%m-%d'),
                            cast(round(100 * max_jump_pct) as integer), max_daily_gain_vs_baseline
                        )
                else format(
                    'gained {:,} followers between {} and {} (+{:d}%), {:,.0f}x its usual change over {:d} days',
                    max_daily_gain, strftime(max_gain_from_day, '%Y-%m-%d'), strftime(max_gain_day, '%Y-%m-%d'),
                    cast(round(100 * max_jump_pct) as integer), max_daily_gain_vs_baseline,
                    cast(round(max_gain_step_days) as integer)
                )
            end,
            case when engagement_flat then format(
                'engagement did not follow: interactions per post {:+d}% while followers {:+d}% in {:d} days',
                cast(round(100 * per_post_growth_pct_28d) as integer),
                cast(round(100 * follower_growth_pct_28d) as integer),
                cast(round(growth_observed_days) as integer)
            ) end,
            case
                when dropped_after_jump then format(
                    'lost {:,} followers by {} after the jump', -min_daily_gain, strftime(min_gain_day, '%Y-%m-%d')
                )
            end,
            case when round_jump then format('the jump is a round number ({:,})', max_daily_gain) end
        ], lambda reason: reason is not null) else [] end as suspicious_reasons
    from checks
)

select * from screened
