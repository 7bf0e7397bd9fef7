-- Accepted ranges: counts and rates never negative, scores and percentiles within their scale,
-- a flag always carries its reasons.
select
    platform,
    profile_id,
    day,
    followers,
    engagement_rate_28d,
    rising_score,
    engagement_rate_percentile_28d
from profile_daily
where
    followers < 0
    or engagement_rate_28d < 0
    or interactions_28d < 0
    or posts_28d < 0
    or rising_score not between 0 and 100
    or engagement_rate_percentile_28d not between 0 and 1
    or (is_rising and len(rising_reasons) = 0)
    or (is_suspicious and len(suspicious_reasons) = 0)
