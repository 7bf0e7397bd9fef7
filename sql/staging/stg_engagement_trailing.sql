-- Trailing-window engagement per profile, window length and end day: every column, the partition typed.
select * replace (cast(window_end as date) as window_end)
from engagement_trailing
