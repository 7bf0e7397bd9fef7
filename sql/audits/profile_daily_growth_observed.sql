-- A growth figure is known exactly with the real time between the readings it compares, which
-- is positive (the two readings are on different days), never a measured 0 for an unknown.
select
    platform,
    profile_id,
    day,
    follower_growth_28d,
    growth_observed_days,
    follower_growth_14d,
    growth_observed_days_14d,
    follower_growth_7d,
    growth_observed_days_7d
from profile_daily
where
    ((follower_growth_28d is null) != (growth_observed_days is null))
    or ((follower_growth_14d is null) != (growth_observed_days_14d is null))
    or ((follower_growth_7d is null) != (growth_observed_days_7d is null))
    or growth_observed_days <= 0
    or growth_observed_days_14d <= 0
    or growth_observed_days_7d <= 0
    or (signal_window_days = 28 and follower_growth_pct_28d is null)
    or (signal_window_days = 14 and follower_growth_pct_14d is null)
