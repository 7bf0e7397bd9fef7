-- A tier, when known, is one of the configured tiers, and is known exactly when followers is.
select
    profile_daily.platform,
    profile_daily.profile_id,
    profile_daily.day,
    profile_daily.tier,
    profile_daily.followers
from profile_daily
where
    (profile_daily.tier is not null and profile_daily.tier not in (select cfg_tiers.name from cfg_tiers))
    or ((profile_daily.tier is null) != (profile_daily.followers is null))
