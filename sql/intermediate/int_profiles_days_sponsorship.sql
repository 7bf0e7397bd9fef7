-- Audience interactions per profile and day, split by whether the post they reached was sponsored.
-- Interactions join their post through (platform, profile_id, post_id); an interaction whose post
-- never arrived as an event is left out of both sides.
-- Interactions are read from 27 days before run_params.compute_from on: the 28-day sums of the
-- days being computed need no earlier ones. Posts are read from the whole history: an
-- interaction may reach an old post.
with

posts as (
    select distinct
        platform,
        profile_id,
        post_id,
        sponsored
    from events
    where event_type = 'post'
),

audience_interactions as (
    select
        platform,
        profile_id,
        post_id,
        event_date as day
    from events
    where
        event_type in ('like', 'comment', 'share', 'save') and actor_id != profile_id
        and event_date >= coalesce((select run_params.compute_from - 27 from run_params), date '0001-01-01')
),

split as (
    select
        audience_interactions.platform,
        audience_interactions.profile_id,
        audience_interactions.day,
        count(*) filter (where posts.sponsored) as sponsored_interactions,
        count(*) filter (where not posts.sponsored) as organic_interactions
    from audience_interactions
    inner join posts
        on
            audience_interactions.platform = posts.platform
            and audience_interactions.profile_id = posts.profile_id
            and audience_interactions.post_id = posts.post_id
    group by audience_interactions.platform, audience_interactions.profile_id, audience_interactions.day
)

select * from split
