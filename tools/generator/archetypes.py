"""Planted archetypes: who the sample profiles are and how their numbers move.

The sample landing directory exists to exercise (and demo) the rising-micro detection, so
every profile is *planted* as one archetype with a known expected outcome.  This module
holds only pure, seeded logic: the per-profile daily follower trajectory, the audience
that really engages (which differs from the follower count for bought followers), an
engagement multiplier over time and the weekly posting counts.  Turning that into events
is `events.py`'s job.

Conventions: day index 0 is the first generated day, index ``days - 1`` is ``end_date``.
The "growth window" is the last ``WINDOW_DAYS`` days, i.e. the SPEC's 28-day trailing
window ending on ``end_date``; its growth is ``followers[-1] / followers[-WINDOW_DAYS] - 1``.
Before the window, every archetype behaves like ``steady``.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

WINDOW_DAYS = 28

PLATFORMS: tuple[str, ...] = ("instagram", "tiktok", "youtube", "bluesky")
PLATFORM_WEIGHTS: tuple[float, ...] = (0.40, 0.30, 0.15, 0.15)
PLATFORM_PREFIX: dict[str, str] = {"instagram": "ig", "tiktok": "tt", "youtube": "yt", "bluesky": "bs"}

STEADY = "steady"
RISING_MICRO = "rising_micro"
NANO_CROSSING = "nano_crossing"
BOUGHT_SPIKE = "bought_spike"
DECLINING = "declining"
FAST_MACRO = "fast_macro"
STALLED = "stalled"
ARCHETYPES: tuple[str, ...] = (
    STEADY,
    RISING_MICRO,
    NANO_CROSSING,
    BOUGHT_SPIKE,
    DECLINING,
    FAST_MACRO,
    STALLED,
)

# Planted counts for the default 200 profiles, and the floor kept for small samples.
_BASE_COUNTS = {RISING_MICRO: 12, NANO_CROSSING: 6, BOUGHT_SPIKE: 8, DECLINING: 6, FAST_MACRO: 3, STALLED: 6}
_MIN_COUNTS = {RISING_MICRO: 2, NANO_CROSSING: 1, BOUGHT_SPIKE: 2, DECLINING: 1, FAST_MACRO: 1, STALLED: 1}
MIN_PROFILES = sum(_MIN_COUNTS.values())
MIN_DAYS = WINDOW_DAYS
_MEGA_MIN_PROFILES = 500

EXPECTED_RISING = frozenset({RISING_MICRO, NANO_CROSSING})
EXPECTED_SUSPICIOUS = frozenset({BOUGHT_SPIKE})

# SPEC section 1 tier table (lower bounds).
_TIERS = (("mega", 1_000_000), ("macro", 50_001), ("micro", 10_000), ("nano", 0))

# HypeAuditor Instagram engagement-rate benchmarks (interactions per post / followers)
# by follower bracket.  We anchor each value at the bracket's geometric midpoint and
# interpolate in log(followers): a step function would make interactions per post drop
# ~30% when a growing account crosses 20k, which no real audience does.
_ER_ANCHOR_FOLLOWERS = (2_236.0, 10_000.0, 44_721.0, 316_228.0, 3_162_278.0)
_ER_ANCHOR_RATES = (0.0426, 0.0228, 0.0162, 0.0155, 0.0154)
_ER_ANCHOR_LOG = np.log10(_ER_ANCHOR_FOLLOWERS)


@dataclass(frozen=True)
class Trajectory:
    """Daily numbers of one profile (arrays of length ``days``, one per day)."""

    followers: np.ndarray  # int64: the follower count the daily snapshot reports
    engaged_audience: np.ndarray  # float: followers that really engage (no bought ones)
    engagement_mult: np.ndarray  # float: multiplier on the benchmark rate (decay/boost)
    weekly_posts: np.ndarray  # int: posts per 7-day block, blocks aligned to end_date


@dataclass(frozen=True)
class ProfilePlan:
    index: int
    platform: str
    profile_id: str
    archetype: str
    trajectory: Trajectory
    er_noise: float  # per-profile deviation from the benchmark rate
    reply_rate: float  # share of audience comments the creator answers
    spike_day: int | None = None  # bought_spike only: day index of the jump

    @property
    def followers_start(self) -> int:
        return int(self.trajectory.followers[-WINDOW_DAYS])

    @property
    def followers_end(self) -> int:
        return int(self.trajectory.followers[-1])


def tier_of(followers: int) -> str:
    for name, lower in _TIERS:
        if followers >= lower:
            return name
    return "nano"


def benchmark_engagement_rate(followers: np.ndarray | float) -> np.ndarray:
    """Interactions per post / followers expected for an account of this size."""
    logf = np.log10(np.maximum(np.asarray(followers, dtype=float), 1.0))
    return np.interp(logf, _ER_ANCHOR_LOG, _ER_ANCHOR_RATES)


def archetype_counts(profiles: int) -> dict[str, int]:
    """Planted counts scaled to the sample size; the remainder is ``steady``."""
    if profiles < MIN_PROFILES:
        raise ValueError(f"profiles must be >= {MIN_PROFILES}, got {profiles}")
    scale = profiles / 200
    counts = {a: max(_MIN_COUNTS[a], round(n * scale)) for a, n in _BASE_COUNTS.items()}
    counts[FAST_MACRO] = min(counts[FAST_MACRO], _BASE_COUNTS[FAST_MACRO])  # volume cap
    counts[STEADY] = profiles - sum(counts.values())
    if counts[STEADY] < 0:  # only possible just above MIN_PROFILES: trim the largest group
        counts[RISING_MICRO] += counts[STEADY]
        counts[STEADY] = 0
    return {a: counts[a] for a in ARCHETYPES}


# --------------------------------------------------------------------------- paths


def _log_path(
    rng: np.random.Generator,
    start: float,
    total_log: float,
    steps: int,
    noise_sd: float,
    lo: float = -math.inf,
    hi: float = math.inf,
) -> np.ndarray:
    """``steps + 1`` values from ``start`` to exactly ``start * e**total_log``.

    Daily log-increments are noisy around the mean, clipped to ``[lo, hi]`` (e.g. never a
    loss, never more than +5%/day) and re-centred so the total is exact: the archetype's
    band is then guaranteed, not merely likely.
    """
    inc = rng.normal(total_log / steps, noise_sd, steps)
    for _ in range(50):
        inc = np.clip(inc, lo, hi)
        gap = total_log - inc.sum()
        if abs(gap) < 1e-12:
            break
        inc += gap / steps
    return start * np.exp(np.concatenate(([0.0], np.cumsum(inc))))


def _steady_prefix(rng: np.random.Generator, anchor: float, n_days: int) -> np.ndarray:
    """``n_days`` steady values leading up to ``anchor`` (which is *not* included)."""
    if n_days == 0:
        return np.empty(0)
    drift = rng.uniform(0.0, 0.03) / (WINDOW_DAYS - 1)
    inc = rng.normal(drift, 0.0015, n_days)
    # Walk backwards from the anchor so the window starts exactly where the archetype says.
    back = anchor * np.exp(-np.cumsum(inc))
    return back[::-1]


def _steady_window(rng: np.random.Generator, start: float) -> np.ndarray:
    return _log_path(rng, start, math.log1p(rng.uniform(0.0, 0.03)), WINDOW_DAYS - 1, 0.0015)


def _smooth_growth(rng: np.random.Generator, start: float, end: float) -> np.ndarray:
    # Never a loss, never above +5% in a day (the rising contract forbids > 6% jumps).
    return _log_path(rng, start, math.log(end / start), WINDOW_DAYS - 1, 0.006, lo=0.0, hi=math.log(1.05))


def _ramp(a: float, b: float) -> np.ndarray:
    return np.linspace(a, b, WINDOW_DAYS)


# ------------------------------------------------------------------ start followers


def _steady_start(rng: np.random.Generator, tier: str) -> float:
    """Heavy-tailed follower count within a tier (small accounts dominate)."""
    if tier == "nano":
        return float(np.clip(rng.lognormal(math.log(300), 1.1), 30, 9_600))
    if tier == "micro":  # truncated Pareto (alpha 1.8): many near 10k, few near 42k
        lo, hi, alpha = 10_200.0, 42_000.0, 1.8
        u = rng.uniform(0.0, 1.0 - (lo / hi) ** alpha)
        return float(lo * (1.0 - u) ** (-1 / alpha))
    if tier == "macro":
        return float(rng.uniform(55_000, 90_000))
    return float(rng.uniform(1_010_000, 1_080_000))


# ------------------------------------------------------------- archetype windows
# Each returns (followers, engaged_audience, engagement_mult) over the growth window.


def _window_steady(rng, tier):
    f = _steady_window(rng, _steady_start(rng, tier))
    return f, f, np.ones(WINDOW_DAYS)


def _window_rising_micro(rng, _tier):
    start = rng.uniform(11_000, 13_500)
    end = min(start * (1 + rng.uniform(0.33, 0.67)), 47_500)
    f = _smooth_growth(rng, start, end)
    return f, f, _ramp(1.0, rng.uniform(1.05, 1.25))


def _window_nano_crossing(rng, _tier):
    f = _smooth_growth(rng, rng.uniform(6_500, 8_500), rng.uniform(9_320, 9_880))
    return f, f, _ramp(1.0, rng.uniform(1.05, 1.25))


def _window_declining(rng, _tier):
    start = rng.uniform(13_000, 22_000)
    f = _log_path(rng, start, math.log1p(-rng.uniform(0.06, 0.19)), WINDOW_DAYS - 1, 0.003)
    return f, f, _ramp(1.0, rng.uniform(0.55, 0.75))


def _window_fast_macro(rng, _tier):
    start = rng.uniform(60_000, 80_000)
    f = _smooth_growth(rng, start, start * (1 + rng.uniform(0.32, 0.58)))
    return f, f, _ramp(1.0, rng.uniform(1.0, 1.15))


def _window_stalled(rng, _tier):
    start = rng.uniform(11_000, 25_000)
    f = _log_path(rng, start, math.log1p(rng.uniform(-0.01, 0.01)), WINDOW_DAYS - 1, 0.001)
    return f, f, np.full(WINDOW_DAYS, rng.uniform(0.3, 0.5))


def _spike_jump(rng: np.random.Generator, before: float, organic_max: float) -> int:
    """A round jump (multiple of 5,000) of 42%–145% that keeps the account micro."""
    lo, hi = 0.42 * before, min(1.45 * before, 49_500 - organic_max)
    options = [j for j in range(5_000, 100_001, 5_000) if lo <= j <= hi]
    if not options:  # fall back to round thousands
        options = [j for j in range(1_000, 100_001, 1_000) if lo <= j <= hi] or [int(lo) + 1]
    return int(rng.choice(options))


def _window_bought_spike(rng, _tier):
    """Flat organic audience plus one purchased jump 5–20 days before end_date."""
    organic = _steady_window(rng, rng.uniform(8_000, 22_000))
    spike = WINDOW_DAYS - 1 - int(rng.integers(5, 21))  # window index of the jump
    organic[spike] = organic[spike - 1]  # the jump day is exactly +J
    jump = _spike_jump(rng, organic[spike - 1], organic.max())
    bought = np.zeros(WINDOW_DAYS)
    bought[spike:] = jump
    if rng.random() < 0.5:  # the platform purges part of the fake followers
        lost = jump * rng.uniform(0.10, 0.30)
        first = spike + int(rng.integers(1, 3))
        n = int(rng.integers(2, 4))
        for k in range(n):
            bought[first + k :] -= lost / n
    return organic + bought, organic, np.ones(WINDOW_DAYS), spike


_WINDOWS = {
    STEADY: _window_steady,
    RISING_MICRO: _window_rising_micro,
    NANO_CROSSING: _window_nano_crossing,
    DECLINING: _window_declining,
    FAST_MACRO: _window_fast_macro,
    STALLED: _window_stalled,
}


# ------------------------------------------------------------------ posting


def _weekly_posts(rng: np.random.Generator, archetype: str, tier: str, days: int) -> np.ndarray:
    """Posts per 7-day block; block ``-1`` ends on end_date, block 0 may be partial."""
    n_blocks = math.ceil(days / 7)
    # (low, high, clip-high) posts a week.  Interactions dominate the line count, so
    # accounts whose posts draw hundreds of interactions post at the lower end.
    if archetype in (RISING_MICRO, NANO_CROSSING):
        lo, rate_hi, hi = 4, 5, 7
    elif tier in ("macro", "mega"):
        lo, rate_hi, hi = 2, 2.5, 3
    elif archetype != STEADY:
        lo, rate_hi, hi = 2, 3, 4
    elif tier == "micro":
        lo, rate_hi, hi = 2, 3, 4
    else:
        lo, rate_hi, hi = 2, 4.5, 6
    rate = rng.uniform(lo, rate_hi)
    counts = np.clip(np.rint(rate + rng.normal(0, 0.6, n_blocks)), lo, hi).astype(int)
    if archetype == STALLED:  # at most one post a week during the growth window
        w = WINDOW_DAYS // 7
        counts[-w:] = (rng.random(w) < rng.uniform(0.3, 0.8)).astype(int)
    return counts


# ------------------------------------------------------------------ assembly


def build_trajectory(
    rng: np.random.Generator, archetype: str, tier: str, days: int
) -> tuple[Trajectory, int | None]:
    """Full-length daily trajectory: a steady prefix, then the archetype's window."""
    if archetype == BOUGHT_SPIKE:
        f, engaged, mult, spike = _window_bought_spike(rng, tier)
    else:
        (f, engaged, mult), spike = _WINDOWS[archetype](rng, tier), None
    pre = _steady_prefix(rng, float(engaged[0]), days - WINDOW_DAYS)
    followers = np.rint(np.concatenate((pre, f))).astype(np.int64)
    traj = Trajectory(
        followers=followers,
        engaged_audience=np.concatenate((pre, engaged)),
        engagement_mult=np.concatenate((np.ones(len(pre)), mult)),
        weekly_posts=_weekly_posts(rng, archetype, tier, days),
    )
    return traj, (None if spike is None else spike + days - WINDOW_DAYS)


def _steady_tiers(rng: np.random.Generator, n_steady: int, profiles: int, n_fast_macro: int) -> list[str]:
    """Tiers for steady profiles: mostly nano, a quarter micro, capped macro/mega."""
    # One mega account costs ~15k interactions per post: only larger samples afford it.
    n_mega = 1 if profiles >= _MEGA_MIN_PROFILES else 0
    n_macro = max(0, round(0.02 * profiles) - n_fast_macro) if profiles >= 100 else 0
    big = ["mega"] * n_mega + ["macro"] * n_macro
    big = big[:n_steady]
    rest = n_steady - len(big)
    n_micro = round(0.07 * rest)
    tiers = big + ["micro"] * n_micro + ["nano"] * (rest - n_micro)
    return [tiers[i] for i in rng.permutation(len(tiers))]


def _archetype_tier(archetype: str) -> str:
    return {FAST_MACRO: "macro", NANO_CROSSING: "nano"}.get(archetype, "micro")


def plan_profiles(profiles: int, days: int, seed: int) -> list[ProfilePlan]:
    """Plan every profile: archetype, platform, id and trajectory. Pure and seeded."""
    if days < MIN_DAYS:
        raise ValueError(f"days must be >= {MIN_DAYS} (one full growth window), got {days}")
    rng = np.random.default_rng([seed, 1])
    counts = archetype_counts(profiles)
    steady_tiers = iter(_steady_tiers(rng, counts[STEADY], profiles, counts[FAST_MACRO]))
    planted = [a for a in ARCHETYPES for _ in range(counts[a])]
    order = rng.permutation(len(planted))  # ids must not reveal the archetype
    platforms = rng.choice(len(PLATFORMS), size=profiles, p=PLATFORM_WEIGHTS)
    plans: list[ProfilePlan] = []
    for index, k in enumerate(order):
        archetype = planted[k]
        tier = next(steady_tiers) if archetype == STEADY else _archetype_tier(archetype)
        prng = np.random.default_rng([seed, 2, index])  # independent per profile
        traj, spike = build_trajectory(prng, archetype, tier, days)
        platform = PLATFORMS[platforms[index]]
        plans.append(
            ProfilePlan(
                index=index,
                platform=platform,
                profile_id=f"{PLATFORM_PREFIX[platform]}_user_{index + 1:04d}",
                archetype=archetype,
                trajectory=traj,
                er_noise=_er_noise(prng, archetype),
                reply_rate=_reply_rate(prng, tier),
                spike_day=spike,
            )
        )
    return _share_one_handle(plans)


def _er_noise(rng: np.random.Generator, archetype: str) -> float:
    """Per-profile deviation from the benchmark rate (lognormal, clipped)."""
    noise = float(np.clip(rng.lognormal(0.0, 0.2), 0.7, 1.4))
    # Macro accounts are the costliest in events: keep them in the lower half of the
    # benchmark noise (a real rate, just a less engaged audience).
    return min(noise, 0.9) if archetype == FAST_MACRO else noise


def _reply_rate(rng: np.random.Generator, tier: str) -> float:
    # Small creators answer their audience; large ones barely can.
    return {"mega": 0.002, "macro": rng.uniform(0.01, 0.04)}.get(tier, rng.uniform(0.05, 0.2))


def _share_one_handle(plans: list[ProfilePlan]) -> list[ProfilePlan]:
    """Give one steady profile the same profile_id as a steady one on another platform.

    SPEC: a profile's key is (platform, profile_id), so these are two distinct profiles.
    """
    steady = [p for p in plans if p.archetype == STEADY]
    for other in steady[1:]:
        if other.platform != steady[0].platform:
            twin = dataclasses.replace(other, profile_id=steady[0].profile_id)
            return [twin if p is other else p for p in plans]
    return plans
