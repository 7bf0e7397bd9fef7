-- profile_daily has one row per profile and day: the key pairs that repeat.
select
    platform,
    profile_id,
    day,
    count(*) as copies
from profile_daily
group by platform, profile_id, day
having count(*) > 1
