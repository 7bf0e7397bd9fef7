-- Accepted ranges: counts and rates never negative, scores and percentiles within their scale,
-- a flag always carries its reasons, and they print no unknown (nan, inf, NULL) and no
-- unformatted ratio (1995396x).
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
    -- a reason never prints an unknown as a number (a null formatted as 0, a missing value)
    or len(list_filter(
        list_concat(rising_reasons, suspicious_reasons),
        lambda reason: regexp_matches(reason, '\b(nan|inf|NULL)\b|[0-9]{4,}x')
    )) > 0
