-- interactions = likes + comments + shares + saves on every daily row the run reads.
select
    platform,
    profile_id,
    day,
    interactions,
    likes,
    comments,
    shares,
    saves
from stg_engagement_daily
where
    day >= (select stg_run_params.first_day from stg_run_params)
    and interactions != likes + comments + shares + saves
