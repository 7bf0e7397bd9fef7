-- Accepted events as the models read them: typed, one row per deduplicated event.
-- event_date is the event's UTC day; filed_date the events partition it is stored under: the
-- same day, or the first day of its year for an event older than the history horizon when it
-- landed (SPEC section 5). A filter on filed_date lets DuckDB skip partitions.
select
    cast(events.platform as varchar) as platform,
    cast(events.profile_id as varchar) as profile_id,
    cast(events.event_type as varchar) as event_type,
    cast(events.post_id as varchar) as post_id,
    cast(events.actor_id as varchar) as actor_id,
    cast(events.sponsored as boolean) as sponsored,
    cast(events.event_time as date) as event_date,
    cast(events.event_date as date) as filed_date
from events
