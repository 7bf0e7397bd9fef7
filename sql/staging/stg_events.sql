-- Accepted events as the models read them: typed, one row per deduplicated event.
select
    cast(platform as varchar) as platform,
    cast(profile_id as varchar) as profile_id,
    cast(event_type as varchar) as event_type,
    cast(post_id as varchar) as post_id,
    cast(actor_id as varchar) as actor_id,
    cast(sponsored as boolean) as sponsored,
    cast(event_date as date) as event_date
from events
