-- The run's parameters (set by storage/sql_layer.py), with the lookback declared once:
-- first_day is the first day any model reads, max_window_days (the longest trailing window)
-- before recompute_from; every day when recompute_from is null (a full computation).
-- first_kept_day: the first day measured beyond what the 28-day rolling measures read, the day
-- before recompute_from (a tier change compares a day with the one before).
select
    as_of,
    recompute_from,
    max_window_days,
    coalesce(recompute_from - max_window_days, date '0001-01-01') as first_day,
    coalesce(recompute_from - 1, date '0001-01-01') as first_kept_day
from run_params
