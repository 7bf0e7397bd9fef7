-- Follower readings: one per profile and UTC day, the day's last profile_snapshot by
-- (event_time, event_id), read from events (SPEC section 3: observations, often rounded and
-- sparse). followers_precision is the unit the count was rounded to (1 when the line did not say).
-- The previous reading rides along, so a change is always known with the real time it took.
with

snapshots as (
    select
        cast(platform as varchar) as platform,
        cast(profile_id as varchar) as profile_id,
        cast(event_time as date) as day,
        cast(followers as bigint) as followers,
        cast(coalesce(followers_precision, 1) as bigint) as followers_precision,
        cast(event_time as timestamptz) as observed_at,
        cast(event_id as varchar) as event_id
    from events
    where event_type = 'profile_snapshot' and followers is not null
),

last_of_day as (
    select
        platform,
        profile_id,
        day,
        followers,
        followers_precision,
        observed_at
    from snapshots
    qualify row_number() over (
        partition by platform, profile_id, day order by observed_at desc, event_id desc
    ) = 1
),

with_previous as (
    select
        *,
        lag(day) over readings as previous_day,
        lag(followers) over readings as previous_followers,
        lag(followers_precision) over readings as previous_precision,
        lag(observed_at) over readings as previous_observed_at
    from last_of_day
    window readings as (partition by platform, profile_id order by day)
)

select * from with_previous
