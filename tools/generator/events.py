"""Turn one planned profile into the events its platform would deliver (SPEC section 2).

Per profile and day: one ``profile_snapshot`` at a random time, the scheduled posts, and
for every post its interactions (likes/comments/shares/saves) spread over the post's day
and the next one or two days, drawn from a per-profile audience pool so repeat fans
exist.  A few interactions are self-engagement, and the creator answers some comments.

In observation mode (``observe=True``) the profile's platform behaves like YouTube's API: the
follower count is read only every few days (weekly for most, every 3 days or monthly for some),
rounded down to 3 significant figures with its ``followers_precision``, and engagement arrives
only as ``post_metrics`` counters (cumulative likes, comments, shares, saves, views read a day,
three days and a week after each post), never as events with their actors.

Events are plain dicts in SPEC field order; ``event_time`` is already rendered as RFC 3339
with a mixed set of UTC offsets.  Every instant is generated in whole microseconds and
rendered exactly, so parsing any line gives back the intended UTC instant.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

import numpy as np

from .archetypes import PLATFORM_PREFIX, ProfilePlan, benchmark_engagement_rate

DAY_US = 86_400 * 1_000_000
HOUR_US = 3_600 * 1_000_000
_EPOCH = dt.datetime(1970, 1, 1)

# Interaction mix (likes 85%, comments 8%, shares 4%, saves 3%).
INTERACTION_TYPES = ("like", "comment", "share", "save")
_INTERACTION_P = (0.85, 0.08, 0.04, 0.03)
_SELF_ENGAGEMENT = 0.005

# Offsets an event_time may be rendered with (minutes east of UTC) and their weights.
_OFFSETS = (0, 60, -300, 330, 0)
_OFFSET_P = (0.50, 0.18, 0.17, 0.10, 0.05)  # the last 0 is rendered "+00:00", not "Z"

_MEDIA = {
    "instagram": (("image", "reel", "video", "story"), (0.45, 0.35, 0.1, 0.1)),
    "tiktok": (("video", "reel"), (0.9, 0.1)),
    "youtube": (("video", "other"), (0.9, 0.1)),
    "bluesky": (("text", "image", "video"), (0.6, 0.35, 0.05)),
}
_NICHES = (
    "vienna",
    "veganfood",
    "trailrunning",
    "indiegames",
    "urbansketching",
    "sourdough",
    "vintagefashion",
    "bouldering",
    "houseplants",
    "skincare",
    "booktok",
    "3dprinting",
    "coffee",
    "birding",
    "minimalism",
    "streetphotography",
    "kpop",
    "homebrewing",
    "calisthenics",
    "watercolor",
    "vanlife",
    "chess",
    "knitting",
    "jazz",
    "tinyhomes",
)


# Observation mode: how often a profile's follower count is read (days) and with what weight,
# the ages at which a post's counters are read, and the share of planned posts a platform keeps
# (a YouTube channel posts about weekly, not daily).
_READ_EVERY = (3, 7, 30)
_READ_EVERY_P = (0.15, 0.75, 0.10)
_OBSERVED_AGES = (24 * HOUR_US, 72 * HOUR_US, 168 * HOUR_US)
_OBSERVED_POST_SHARE = {"youtube": 0.3}


def rounded_count(count: int, significant: int = 3) -> tuple[int, int]:
    """A count as YouTube shows it: rounded down to ``significant`` figures, with the unit
    (``followers_precision``): 123,456 -> (123,000, 1,000); counts below 1,000 are exact."""
    precision = 10 ** max(0, len(str(count)) - significant)
    return count - count % precision, precision


@dataclass(frozen=True, slots=True)
class Event:
    """One logical event: its UTC instant (microseconds since epoch) and its record."""

    time_us: int
    record: dict


def render_time(time_us: int, offset_choice: int) -> str:
    """RFC 3339 text for an instant, in one of the ``_OFFSETS`` renderings.

    Fractional seconds are written only when non-zero and without trailing zeros
    (``.5``, ``.123``, ``.123456``) so the text is always the exact instant.  Integer
    arithmetic with a per-day date cache: this runs once per event.
    """
    minutes = _OFFSETS[offset_choice]
    secs, micros = divmod(time_us + minutes * 60_000_000, 1_000_000)
    day, rem = divmod(secs, 86_400)
    hh, rem = divmod(rem, 3_600)
    mm, ss = divmod(rem, 60)
    text = f"{_date_text(day)}T{hh:02d}:{mm:02d}:{ss:02d}"
    if micros:
        text += "." + f"{micros:06d}".rstrip("0")
    if offset_choice == 0:
        return text + "Z"
    sign = "+" if minutes >= 0 else "-"
    return f"{text}{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


@functools.lru_cache(maxsize=4096)
def _date_text(epoch_day: int) -> str:
    return (_EPOCH + dt.timedelta(days=epoch_day)).date().isoformat()


def _precision(rng: np.random.Generator, times: np.ndarray) -> np.ndarray:
    """Truncate instants to seconds (45%), milliseconds (30%) or keep microseconds."""
    u = rng.random(len(times))
    out = times.copy()
    sec = u < 0.45
    ms = (u >= 0.45) & (u < 0.75)
    out[sec] -= out[sec] % 1_000_000
    out[ms] -= out[ms] % 1_000
    return out


class _Ids:
    """Sequential event ids, unique per platform because the profile index is in them."""

    def __init__(self, plan: ProfilePlan):
        self._prefix = f"{PLATFORM_PREFIX[plan.platform]}-{plan.index + 1:04d}-"
        self._next = 0

    def take(self, n: int) -> list[str]:
        ids = [f"{self._prefix}{k:07d}" for k in range(self._next, self._next + n)]
        self._next += n
        return ids


def _post_days(rng: np.random.Generator, weekly: np.ndarray, days: int) -> np.ndarray:
    """Day indexes of posts: each 7-day block (aligned to the last day) gets its count."""
    out = []
    for b, count in enumerate(weekly[::-1]):  # block 0 here ends on the last day
        hi = days - 7 * b
        lo = max(0, hi - 7)
        width = hi - lo
        n = int(count) if width == 7 else int(rng.binomial(int(count), width / 7))
        out.extend(lo + rng.choice(width, size=min(n, width), replace=False))
    return np.sort(np.asarray(out, dtype=np.int64))


class ProfileEventBuilder:
    """Builds all events of one profile; split into steps so each stays small."""

    def __init__(
        self,
        plan: ProfilePlan,
        start_us: int,
        days: int,
        same_platform_ids: list[str],
        rng: np.random.Generator,
    ):
        self.plan, self.start_us, self.days = plan, start_us, days
        self.end_us = start_us + days * DAY_US  # exclusive: 00:00 after end_date
        self.rng, self.ids = rng, _Ids(plan)
        self.mention_pool = [p for p in same_platform_ids if p != plan.profile_id]
        self.events: list[Event] = []

    # -- helpers -----------------------------------------------------------------
    def _base(self, event_id: str, event_type: str, time_us: int, offset: int) -> dict:
        return {
            "event_id": event_id,
            "event_type": event_type,
            "event_time": render_time(time_us, offset),
            "platform": self.plan.platform,
            "profile_id": self.plan.profile_id,
        }

    def _offsets(self, n: int) -> list[int]:
        """Rendering offsets for ``n`` events, drawn in one go (per-event draws are slow)."""
        return self.rng.choice(len(_OFFSETS), size=n, p=_OFFSET_P).tolist()

    def _add(self, time_us: int, record: dict) -> None:
        self.events.append(Event(int(time_us), record))

    # -- posts -------------------------------------------------------------------
    def posts(self, keep_share: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
        """Emit posts (each planned one kept with probability ``keep_share``); return their day
        indexes and instants."""
        rng, plan = self.rng, self.plan
        days = _post_days(rng, plan.trajectory.weekly_posts, self.days)
        if keep_share < 1.0:
            days = days[rng.random(len(days)) < keep_share]
        # Creators post in their waking hours: 06:00–23:00 UTC-ish, never exactly uniform.
        times = self.start_us + days * DAY_US + rng.integers(6 * HOUR_US, 23 * HOUR_US, len(days))
        times = _precision(rng, times)
        niche = rng.choice(_NICHES, size=int(rng.integers(2, 6)), replace=False)
        media, media_p = _MEDIA[plan.platform]
        offsets = self._offsets(len(times))
        for k, (ids, t) in enumerate(zip(self.ids.take(len(times)), times)):
            sponsored = bool(rng.random() < 0.10)
            tags = [
                f"#{h}" for h in rng.choice(niche, size=int(rng.integers(0, len(niche) + 1)), replace=False)
            ]
            if sponsored:
                tags.append("#ad")
            n_mentions = min(int(rng.choice(3, p=(0.7, 0.2, 0.1))), len(self.mention_pool))
            mentions = (
                [f"@{m}" for m in rng.choice(self.mention_pool, size=n_mentions, replace=False)]
                if n_mentions
                else []
            )
            rec = self._base(ids, "post", int(t), offsets[k])
            rec.update(
                post_id=self._post_id(k),
                media_type=str(rng.choice(media, p=media_p)),
                hashtags=tags,
                mentions=mentions,
                sponsored=sponsored,
            )
            self._add(t, rec)
        return days, times

    def _post_id(self, k: int) -> str:
        return f"{PLATFORM_PREFIX[self.plan.platform]}_post_{self.plan.index + 1:04d}_{k:04d}"

    # -- snapshots ---------------------------------------------------------------
    def snapshots(self, post_times: np.ndarray) -> None:
        rng, traj = self.rng, self.plan.trajectory
        times = _precision(
            rng, self.start_us + np.arange(self.days) * DAY_US + rng.integers(0, DAY_US, self.days)
        )
        following = int(rng.integers(40, 2_000))
        following_walk = following + np.cumsum(rng.integers(-2, 4, self.days))
        media_base = int(rng.integers(15, 1_500))
        media = media_base + np.searchsorted(post_times, times, side="right")
        offsets = self._offsets(self.days)
        for eid, d in zip(self.ids.take(self.days), range(self.days)):
            rec = self._base(eid, "profile_snapshot", int(times[d]), offsets[d])
            rec.update(
                followers=int(traj.followers[d]),
                following=int(max(0, following_walk[d])),
                media_count=int(media[d]),
            )
            self._add(times[d], rec)

    # -- observations (observation mode) ------------------------------------------
    def observed_snapshots(self) -> None:
        """Sparse, rounded follower readings: every ``every`` days from a random phase."""
        rng, traj = self.rng, self.plan.trajectory
        every = int(rng.choice(_READ_EVERY, p=_READ_EVERY_P))
        read_days = np.arange(int(rng.integers(0, every)), self.days, every)
        times = _precision(rng, self.start_us + read_days * DAY_US + rng.integers(0, DAY_US, len(read_days)))
        offsets = self._offsets(len(read_days))
        for k, (eid, d) in enumerate(zip(self.ids.take(len(read_days)), read_days.tolist())):
            shown, precision = rounded_count(int(traj.followers[d]))
            rec = self._base(eid, "profile_snapshot", int(times[k]), offsets[k])
            rec.update(followers=shown, followers_precision=precision)
            self._add(times[k], rec)

    def post_metrics(self, post_days: np.ndarray, post_times: np.ndarray) -> None:
        """Each post's cumulative counters read at fixed ages (and at the end of the sample when
        no age fits): the final totals follow the same engagement model as interaction events."""
        rng, plan, traj = self.rng, self.plan, self.plan.trajectory
        if len(post_days) == 0:
            return
        audience = traj.engaged_audience[post_days]
        lam = (
            benchmark_engagement_rate(audience)
            * audience
            * plan.er_noise
            * traj.engagement_mult[post_days]
            * rng.lognormal(-0.045, 0.3, len(post_days))
        )
        totals = np.stack([rng.multinomial(int(n), _INTERACTION_P) for n in rng.poisson(lam)])
        views = (totals.sum(axis=1) * rng.lognormal(3.0, 0.4, len(post_days))).astype(np.int64)
        for k, t in enumerate(post_times.tolist()):
            at = [t + age for age in _OBSERVED_AGES if t + age < self.end_us]
            if not at:
                at = [int(t + (self.end_us - 1 - t) * rng.uniform(0.5, 1.0))]
            offsets = self._offsets(len(at))
            for j, (eid, when) in enumerate(zip(self.ids.take(len(at)), at)):
                share = 1 - np.exp(-(when - t) / (12 * HOUR_US))
                rec = self._base(eid, "post_metrics", int(when), offsets[j])
                rec["post_id"] = self._post_id(k)
                for name, total in zip(("likes", "comments", "shares", "saves"), totals[k].tolist()):
                    rec[name] = int(total * share)
                rec["views"] = int(int(views[k]) * share)
                self._add(when, rec)

    # -- interactions ------------------------------------------------------------
    def interactions(self, post_days: np.ndarray, post_times: np.ndarray) -> None:
        rng, plan, traj = self.rng, self.plan, self.plan.trajectory
        if len(post_days) == 0:
            return
        audience = traj.engaged_audience[post_days]
        # Expected interactions per post = benchmark rate * engaging audience, with
        # profile, time (growth/decay) and per-post noise.
        lam = (
            benchmark_engagement_rate(audience)
            * audience
            * plan.er_noise
            * traj.engagement_mult[post_days]
            * rng.lognormal(-0.045, 0.3, len(post_days))
        )
        counts = rng.poisson(lam)
        post_of = np.repeat(np.arange(len(post_days)), counts)
        n = len(post_of)
        kinds = rng.choice(4, size=n, p=_INTERACTION_P)
        times = self._interaction_times(post_days, post_times, post_of)
        actors = self._actors(n, float(traj.followers.max()))
        self_mask = (kinds != 1) & (rng.random(n) < _SELF_ENGAGEMENT)
        ids = self.ids.take(n)
        post_ids = [self._post_id(k) for k in range(len(post_days))]
        pid = plan.profile_id
        offsets, kinds_l, times_l = self._offsets(n), kinds.tolist(), times.tolist()
        post_of_l, self_l = post_of.tolist(), self_mask.tolist()
        for i in range(n):
            rec = self._base(ids[i], INTERACTION_TYPES[kinds_l[i]], times_l[i], offsets[i])
            rec["post_id"] = post_ids[post_of_l[i]]
            rec["actor_id"] = pid if self_l[i] else actors[i]
            self._add(times_l[i], rec)
        self._creator_replies(kinds, times, post_of, post_days, ids, post_ids)

    def _limit(self, post_days: np.ndarray) -> np.ndarray:
        """Last instant an interaction on each post may have: end of post day + 2."""
        return np.minimum(self.start_us + (post_days + 3) * DAY_US, self.end_us) - 1

    def _interaction_times(self, post_days, post_times, post_of) -> np.ndarray:
        """Most engagement comes in the first hours, a tail over the next 1–2 days."""
        rng = self.rng
        start = post_times[post_of]
        room = self._limit(post_days)[post_of] - start
        delay = rng.exponential(8 * HOUR_US, len(post_of)).astype(np.int64)
        late = delay > room
        delay[late] = (rng.random(int(late.sum())) * room[late]).astype(np.int64)
        return _precision(rng, start + delay)

    def _actors(self, n: int, max_followers: float) -> list[str]:
        """Draw actors from a pool with a long-tailed weight: a few loyal repeat fans."""
        rng = self.rng
        size = int(np.clip(max_followers * rng.uniform(0.15, 0.4), 30, 400_000))
        pool = rng.integers(0, 100_000_000, size)
        weights = (np.arange(size) + 1.0) ** -0.8
        picks = pool[rng.choice(size, size=n, p=weights / weights.sum())]
        prefix = PLATFORM_PREFIX[self.plan.platform]
        return [f"{prefix}_u{x:08d}" for x in picks]

    def _creator_replies(self, kinds, times, post_of, post_days, ids, post_ids) -> None:
        rng = self.rng
        comments = np.flatnonzero((kinds == 1) & (rng.random(len(kinds)) < self.plan.reply_rate))
        if len(comments) == 0:
            return
        limit = self._limit(post_days)[post_of[comments]]
        at = times[comments] + rng.exponential(3 * HOUR_US, len(comments)).astype(np.int64)
        over = at > limit
        at[over] = times[comments][over] + (
            rng.random(int(over.sum())) * (limit[over] - times[comments][over])
        ).astype(np.int64)
        at = np.maximum(_precision(rng, at), times[comments])
        offsets = self._offsets(len(comments))
        for k, (eid, c, t) in enumerate(zip(self.ids.take(len(comments)), comments, at)):
            rec = self._base(eid, "comment", int(t), offsets[k])
            rec.update(post_id=post_ids[post_of[c]], actor_id=self.plan.profile_id, reply_to=ids[c])
            self._add(t, rec)


def profile_events(
    plan: ProfilePlan,
    start_date: dt.date,
    days: int,
    same_platform_ids: list[str],
    seed: int,
    observe: bool = False,
) -> list[Event]:
    """All logical events of one profile over ``days`` days starting at ``start_date``; as its
    platform's API would deliver them when ``observe`` (counters and sparse rounded readings)."""
    start_us = int((dt.datetime.combine(start_date, dt.time()) - _EPOCH).total_seconds()) * 1_000_000
    rng = np.random.default_rng([seed, 3, plan.index])
    builder = ProfileEventBuilder(plan, start_us, days, same_platform_ids, rng)
    if observe:
        post_days, post_times = builder.posts(_OBSERVED_POST_SHARE.get(plan.platform, 1.0))
        builder.observed_snapshots()
        builder.post_metrics(post_days, post_times)
        return builder.events
    post_days, post_times = builder.posts()
    builder.snapshots(np.sort(post_times))
    builder.interactions(post_days, post_times)
    return builder.events


def pin_day_edges(events: list[Event], start_us: int) -> None:
    """Move two snapshots to the exact edges of a UTC day (00:00:00Z, 23:59:59.999999Z).

    Boundary instants are where off-by-one day bucketing hides; the sample must have them.
    Snapshots on days 1 and 2 are used so both stay inside their own day.
    """
    edges = {1: 0, 2: DAY_US - 1}
    for i, ev in enumerate(events):
        day = (ev.time_us - start_us) // DAY_US
        if ev.record["event_type"] == "profile_snapshot" and day in edges:
            t = start_us + day * DAY_US + edges.pop(day)
            events[i] = Event(t, {**ev.record, "event_time": render_time(t, 0)})
        if not edges:
            return
