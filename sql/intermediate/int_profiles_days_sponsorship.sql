-- Audience interactions per profile and day, split by whether the post they reached was sponsored.
-- Interactions join their post through (platform, profile_id, post_id); an interaction whose post
-- never arrived as an event is left out of both sides.
-- Interactions are read from the day after stg_run_params.first_day on: the 28-day sums of the
-- days being computed need no earlier ones. Posts are read from the whole history: an
-- interaction may reach an old post.
with

posts as (
    select distinct
        platform,
        profile_id,
        post_id,
        sponsored
    from stg_events
    where event_type = 'post'
),

audience_interactions as (
    -- counted per post and day first: the join below then meets a row per post-day, not per event
    select
        platform,
        profile_id,
        post_id,
        event_date as day,
        count(*) as interactions
    from stg_events
    where
        event_type in ('like', 'comment', 'share', 'save') and actor_id is distinct from profile_id
        and event_date > (select stg_run_params.first_day from stg_run_params)
        and filed_date >= (select date_trunc('year', stg_run_params.first_day) from stg_run_params)
    group by platform, profile_id, post_id, event_date
),

split as (
    select
        audience_interactions.platform,
        audience_interactions.profile_id,
        audience_interactions.day,
        cast(coalesce(sum(audience_interactions.interactions) filter (where posts.sponsored), 0) as bigint)
            as sponsored_interactions,
        cast(coalesce(sum(audience_interactions.interactions) filter (where not posts.sponsored), 0) as bigint)
            as organic_interactions
    from audience_interactions
    inner join posts
        on
            audience_interactions.platform = posts.platform
            and audience_interactions.profile_id = posts.profile_id
            and audience_interactions.post_id = posts.post_id
    group by audience_interactions.platform, audience_interactions.profile_id, audience_interactions.day
)

select * from split
