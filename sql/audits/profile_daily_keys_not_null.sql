-- Every profile_daily row has its key.
select *
from profile_daily
where platform is null or profile_id is null or day is null
