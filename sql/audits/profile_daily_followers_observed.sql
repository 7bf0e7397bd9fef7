-- Follower observation (SPEC section 3): a stale count is unknown (no followers, no tier); a known
-- count says when it was read (not after the day) and its precision (at least 1).
select
    platform,
    profile_id,
    day,
    followers,
    followers_observed_at,
    followers_precision,
    followers_stale,
    tier
from profile_daily
where
    (followers_stale and (followers is not null or tier is not null))
    or (
        followers is not null
        and (
            followers_observed_at is null
            or followers_precision is null
            or followers_precision < 1
            or cast(followers_observed_at as date) > day
        )
    )
