-- Daily engagement per profile (docs/DATA_DICTIONARY.md): every dataset column, the partition typed.
select * replace (cast(day as date) as day)
from engagement_daily
