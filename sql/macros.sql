-- Table macros for the questions analysts ask most. Example: select * from rising_on(date '2026-11-24');

-- Rising micro influencers on a day, best first per platform.
create or replace macro rising_on(on_day) as table
    select * from rising_micro_influencers
    where day = on_day;

-- One profile's daily history: followers, tier, flags and reasons.
create or replace macro profile_history(on_platform, on_profile) as table
    select * from profile_daily
    where platform = on_platform and profile_id = on_profile
    order by day;

-- A tier's leaderboard on a day, by rising score (rising or not).
create or replace macro tier_leaderboard(on_tier, on_day) as table
    select
        platform,
        profile_id,
        followers,
        rising_score,
        is_rising,
        is_suspicious
    from profile_daily
    where tier = on_tier and day = on_day and rising_score is not null
    order by rising_score desc, platform asc, profile_id asc;

-- Tier changes between two days, inclusive.
create or replace macro tier_changes_between(from_day, to_day) as table
    select * from tier_changes
    where day between from_day and to_day;
