"""Warehouse datasets: Arrow schemas of every Parquet dataset, with a doc string per column.

Partition columns (`event_date`, `ingest_date`, `day`, `window_end`) live only in the Hive
directory names (`day=2026-11-24/`), never inside the files: pyarrow refuses a column that is
both, and every reader (DuckDB, polars, pandas/pyarrow, Spark) restores it from the path.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

TIMESTAMP = pa.timestamp("us", tz="UTC")


def col(name: str, type_: pa.DataType, doc: str, nullable: bool = True) -> pa.Field:
    return pa.field(name, type_, nullable=nullable, metadata={"doc": doc})


def bare(schema: pa.Schema) -> pa.Schema:
    """The schema without per-column docs: tables in flight are pickled often, docs are written once."""
    return pa.schema([f.remove_metadata() for f in schema])


@dataclass(frozen=True)
class Dataset:
    name: str
    grain: str
    partition: str  # the Hive partition column, a date (or a string: partition_type)
    partition_doc: str
    schema: pa.Schema  # the columns stored in the files (without the partition column)
    partition_type: pa.DataType = pa.date32()
    # The order of the rows in each file (a key's rows sit together, so readers skip row groups by
    # statistics); compaction (storage.compaction) keeps it when it merges a partition's files.
    sort_keys: tuple[str, ...] = ()

    @property
    def data_schema(self) -> pa.Schema:
        return bare(self.schema)

    @property
    def columns(self) -> list[str]:
        return self.schema.names

    def doc(self, column: str) -> str:
        if column == self.partition:
            return self.partition_doc
        return self.schema.field(column).metadata[b"doc"].decode()


_FROM_COUNTERS = (
    "; for a post with a post_metrics {kind} counter, instead of its events: the counter's changes "
    "booked by SPEC section 3 (the first observation on the publish day, later changes on the day "
    "observed, negative when withdrawn)"
)
COUNT_METRICS = (
    ("posts", "`post` events in the window"),
    (
        "likes",
        "`like` events whose actor_id differs from the profile_id (or is unknown)"
        + _FROM_COUNTERS.format(kind="likes"),
    ),
    (
        "comments",
        "`comment` events whose actor_id differs from the profile_id (or is unknown)"
        + _FROM_COUNTERS.format(kind="comments"),
    ),
    (
        "shares",
        "`share` events whose actor_id differs from the profile_id (or is unknown)"
        + _FROM_COUNTERS.format(kind="shares"),
    ),
    (
        "saves",
        "`save` events whose actor_id differs from the profile_id (or is unknown)"
        + _FROM_COUNTERS.format(kind="saves"),
    ),
    ("views", "views from post_metrics counters only, booked as likes are (no event carries a view)"),
    ("interactions", "likes + comments + shares + saves (not views)"),
    (
        "unique_engagers",
        "distinct known actor_id over the audience interaction events (countered posts' too), exact over "
        "the whole window; null when the window's engagement comes only from counters (counter "
        "bookings and no interaction event with a known actor)",
    ),
    ("creator_replies", "`comment` events whose actor_id equals the profile_id"),
    ("sponsored_posts", "`post` events with sponsored = true"),
    ("new_followers", "`follow` events: someone started following the profile"),
)
# Nullable count metrics (null has a meaning, documented above); the others are never null.
NULLABLE_COUNTS = ("unique_engagers",)
FOLLOWER_METRICS = (
    (
        "followers_first",
        "followers of the first profile_snapshot in the window, by (event_time, event_id); null if none",
    ),
    (
        "followers_last",
        "followers of the last profile_snapshot in the window, by (event_time, event_id); null if none",
    ),
)
METRIC_NAMES = tuple(name for name, _ in COUNT_METRICS + FOLLOWER_METRICS)

_metric_fields = [col(n, pa.int64(), d, nullable=n in NULLABLE_COUNTS) for n, d in COUNT_METRICS] + [
    col(n, pa.int64(), d) for n, d in FOLLOWER_METRICS
]
_profile_key = [
    col("platform", pa.string(), "platform of the profile", nullable=False),
    col("profile_id", pa.string(), "creator id on that platform", nullable=False),
]

EVENTS = Dataset(
    name="events",
    grain="one accepted, deduplicated event",
    partition="event_date",
    partition_doc=(
        "UTC day of event_time; for an event already older than the history horizon when it landed, "
        "the first day of its year (SPEC section 5: no partition per day back to 2010; use event_time for its day)"
    ),
    sort_keys=("platform", "profile_id", "event_time", "event_id"),
    schema=pa.schema(
        [
            col("platform", pa.string(), "lowercase platform name", nullable=False),
            col("event_id", pa.string(), "event id, unique per platform", nullable=False),
            col(
                "event_type",
                pa.string(),
                "post, like, comment, share, save, follow, profile_snapshot or post_metrics",
                nullable=False,
            ),
            col("event_time", TIMESTAMP, "when the event happened, UTC", nullable=False),
            col("profile_id", pa.string(), "the creator the event is about", nullable=False),
            col(
                "schema_version",
                pa.int16(),
                "event contract version the line declared (default 1)",
                nullable=False,
            ),
            col(
                "post_id",
                pa.string(),
                "post created (post), interacted with (like, comment, share, save) or observed (post_metrics)",
            ),
            col(
                "actor_id",
                pa.string(),
                "who interacted (like, comment, share, save; null when the platform does not say) or followed (follow)",
            ),
            col("reply_to", pa.string(), "comment id a comment replies to"),
            col("media_type", pa.string(), "post media type"),
            col("hashtags", pa.list_(pa.string()), "post hashtags"),
            col("mentions", pa.list_(pa.string()), "accounts a post mentions"),
            col("sponsored", pa.bool_(), "post is a paid partnership (false when absent)"),
            col("followers", pa.int64(), "profile_snapshot follower count"),
            col("following", pa.int64(), "profile_snapshot following count"),
            col("media_count", pa.int64(), "profile_snapshot media count"),
            col(
                "source_file",
                pa.string(),
                "landing file of the kept copy, relative to the landing directory",
                nullable=False,
            ),
            col(
                "source_line",
                pa.int64(),
                "1-based line number of the kept copy in source_file",
                nullable=False,
            ),
            col(
                "payload_hash",
                pa.string(),
                "SHA-256 of the normalised payload; copies with different hashes are conflicting duplicates",
                nullable=False,
            ),
            # contract v2 (appended: files written before v2 read these as null)
            col("likes", pa.int64(), "post_metrics: the post's cumulative likes at event_time"),
            col("comments", pa.int64(), "post_metrics: the post's cumulative comments at event_time"),
            col("shares", pa.int64(), "post_metrics: the post's cumulative shares at event_time"),
            col("saves", pa.int64(), "post_metrics: the post's cumulative saves at event_time"),
            col("views", pa.int64(), "post_metrics: the post's cumulative views at event_time"),
            col(
                "followers_precision",
                pa.int64(),
                "profile_snapshot: the unit followers was rounded to (1 = exact; null when the line did not say)",
            ),
            col("handle", pa.string(), "profile_snapshot: the profile's handle"),
            col("display_name", pa.string(), "profile_snapshot: the profile's display name"),
            col("country", pa.string(), "profile_snapshot: ISO 3166-1 alpha-2 country code, as delivered"),
            col("language", pa.string(), "post or profile_snapshot: language (BCP 47), as delivered"),
        ]
    ),
)

REJECTED = Dataset(
    name="rejected",
    grain="one rejected input line",
    partition="ingest_date",
    partition_doc="UTC day the run that read the line started",
    sort_keys=("source_file", "source_line"),
    schema=pa.schema(
        [
            col(
                "source_file", pa.string(), "landing file, relative to the landing directory", nullable=False
            ),
            col("source_line", pa.int64(), "1-based line number in source_file", nullable=False),
            col(
                "raw_line",
                pa.string(),
                "the line as read (invalid UTF-8 bytes backslash-escaped)",
                nullable=False,
            ),
            col(
                "reason",
                pa.string(),
                "machine-readable reason, see schemas.events.REJECT_REASONS",
                nullable=False,
            ),
            col("detail", pa.string(), "human-readable detail: which field, what was wrong", nullable=False),
            col("run_id", pa.string(), "the run that read the line", nullable=False),
            col("ingested_at", TIMESTAMP, "when the run started, UTC", nullable=False),
        ]
    ),
)

ENGAGEMENT_DAILY = Dataset(
    name="engagement_daily",
    grain="profile x UTC day with at least one accepted event or counter booking",
    partition="day",
    partition_doc="the UTC day [00:00, 24:00)",
    sort_keys=("platform", "profile_id"),
    schema=pa.schema(_profile_key + _metric_fields),
)

ENGAGEMENT_TRAILING = Dataset(
    name="engagement_trailing",
    grain="profile x window length (7, 14, 28) x window end day, while the window holds an accepted event",
    partition="window_end",
    partition_doc="the window's last UTC day; the window is [window_end-(N-1) 00:00, window_end+1 00:00)",
    sort_keys=("platform", "profile_id", "window_days"),
    schema=pa.schema(
        _profile_key
        + [col("window_days", pa.int32(), "window length N in days: 7, 14 or 28", nullable=False)]
        + _metric_fields
    ),
)

PROFILE_DAILY = Dataset(
    name="profile_daily",
    grain="profile x UTC day, from the profile's first event to the as-of day",
    partition="day",
    partition_doc="the UTC day the state describes (at 24:00)",
    schema=pa.schema(
        _profile_key
        + [
            col(
                "followers",
                pa.int64(),
                "latest known follower count at the end of the day (the last profile_snapshot up to it); null before the first snapshot and when stale",
            ),
            col(
                "followers_observed_at",
                TIMESTAMP,
                "when the latest follower count up to the day was read (set also when it is stale)",
            ),
            col(
                "followers_precision",
                pa.int64(),
                "unit that count was rounded to (1 = exact, also when the snapshot did not say)",
            ),
            col(
                "followers_stale",
                pa.bool_(),
                "the latest count was read more than max_staleness_days (default 14) days before the day: followers and tier are null",
                nullable=False,
            ),
            col(
                "tier",
                pa.string(),
                "nano, micro, macro or mega from followers and the tier table; null when followers is null (never from a stale count)",
            ),
            col("previous_tier", pa.string(), "tier on the previous day"),
            col("tier_changed", pa.bool_(), "tier differs from previous_tier (both known)", nullable=False),
            col(
                "followers_28d_ago",
                pa.int64(),
                "the reading at or before the start of the 28-day window ending on day (the latest up to the end of day-28)",
            ),
            col(
                "follower_growth_28d",
                pa.int64(),
                "last reading in the 28-day window - followers_28d_ago; null (never 0) when either is missing",
            ),
            col("follower_growth_pct_28d", pa.float64(), "follower_growth_28d / followers_28d_ago"),
            col(
                "growth_observed_days",
                pa.float64(),
                "real time in days between the two readings follower_growth_28d compares (> 0 when growth is known)",
            ),
            col("follower_growth_14d", pa.int64(), "the same growth over the 14-day window ending on day"),
            col(
                "follower_growth_pct_14d",
                pa.float64(),
                "follower_growth_14d / the reading at or before the 14-day window's start",
            ),
            col(
                "growth_observed_days_14d",
                pa.float64(),
                "real time in days between the two readings follower_growth_14d compares",
            ),
            col(
                "signal_window_days",
                pa.int32(),
                "window the flags and rising_score use: 28 when follower_growth_pct_28d is known, else 14 when the 14-day one is, else null",
            ),
            col(
                "peer_group",
                pa.string(),
                "'platform' when the platform's tier had enough honest profiles that day (cfg_rising.min_peers), else 'all platforms'",
            ),
            col(
                "peer_median_growth_pct_28d",
                pa.float64(),
                "median follower_growth_pct_28d among peers that have it (same platform, tier and day, suspicious profiles excluded)",
            ),
            col(
                "peer_median_growth_pct_14d",
                pa.float64(),
                "median follower_growth_pct_14d among peers that have it",
            ),
            col(
                "growth_vs_peers",
                pa.float64(),
                "follower growth over the signal window / the peer median of that measure (null when the median is <= 0)",
            ),
            col("follower_growth_7d", pa.int64(), "followers - followers 7 days earlier"),
            col(
                "follower_growth_pct_7d",
                pa.float64(),
                "follower_growth_7d / the reading at or before the 7-day window's start",
            ),
            col(
                "growth_observed_days_7d",
                pa.float64(),
                "real time in days between the two readings follower_growth_7d compares",
            ),
            col(
                "follower_velocity_7d",
                pa.float64(),
                "follower_growth_7d / growth_observed_days_7d (followers per day)",
            ),
            col(
                "follower_acceleration_7d",
                pa.float64(),
                "follower_velocity_7d minus the velocity between the readings at the 14- and 7-day window starts (followers/day)",
            ),
            col("interactions_28d", pa.int64(), "interactions in the 28-day window ending on day"),
            col(
                "engagement_rate_28d",
                pa.float64(),
                "interactions_28d / followers, null when followers is null or 0",
            ),
            col(
                "engagement_rate_7d",
                pa.float64(),
                "interactions_7d / followers, null when followers is null or 0",
            ),
            col(
                "peer_median_engagement_rate_28d",
                pa.float64(),
                "median engagement_rate_28d among peers that have it",
            ),
            col(
                "engagement_rate_percentile_28d",
                pa.float64(),
                "percent_rank (0-1) of engagement_rate_28d among peers that have it (platform, tier, day)",
            ),
            col("interactions_14d", pa.int64(), "interactions in the 14-day window ending on day"),
            col(
                "engagement_rate_14d",
                pa.float64(),
                "interactions_14d / followers, null when followers is null or 0",
            ),
            col(
                "peer_median_engagement_rate_14d",
                pa.float64(),
                "median engagement_rate_14d among peers that have it",
            ),
            col(
                "interaction_growth_pct_28d",
                pa.float64(),
                "interactions_28d / interactions of the 28 days before - 1",
            ),
            col(
                "unique_engager_growth_pct_28d",
                pa.float64(),
                "unique_engagers over 28 days / unique_engagers of the 28 days before - 1",
            ),
            col(
                "comments_per_like_28d",
                pa.float64(),
                "closeness: audience comments / audience likes over 28 days",
            ),
            col(
                "creator_reply_rate_28d",
                pa.float64(),
                "closeness: creator replies / audience comments over 28 days",
            ),
            col("posts_per_week_28d", pa.float64(), "cadence: posts_28d / 4"),
            col("posts_per_week_14d", pa.float64(), "cadence: posts in the 14-day window / 2"),
            col(
                "platform_median_posts_per_week_28d",
                pa.float64(),
                "median posts_per_week_28d of the platform's profiles that posted in the 28 days (every tier)",
            ),
            col(
                "platform_median_posts_per_week_14d",
                pa.float64(),
                "median posts_per_week_14d of the platform's profiles that posted in the 14 days (every tier)",
            ),
            col(
                "posts_vs_platform",
                pa.float64(),
                "cadence over the signal window / the platform median of that cadence",
            ),
            col(
                "days_since_last_post",
                pa.int64(),
                "cadence: days since the profile's last post (0 = posted that day); null before any post",
            ),
            col(
                "sponsored_vs_organic_28d",
                pa.float64(),
                "interactions per sponsored post / interactions per organic post over 28 days (interactions joined to their post by post_id)",
            ),
            col("interactions_7d", pa.int64(), "interactions in the 7-day window ending on day"),
            col("interactions_prev_7d", pa.int64(), "interactions in the 7-day window ending on day-7"),
            col("posts_28d", pa.int64(), "posts in the 28-day window ending on day"),
            col("posts_14d", pa.int64(), "posts in the 14-day window ending on day"),
            col(
                "per_post_growth_pct_28d",
                pa.float64(),
                "interactions per post in the 28-day window against the 28 days before, - 1",
            ),
            col(
                "per_post_growth_pct_14d",
                pa.float64(),
                "interactions per post in the 14-day window against the 14 days before, - 1",
            ),
            col(
                "max_daily_gain_share",
                pa.float64(),
                "largest follower gain between two consecutive readings in the last 28 days / follower_growth_28d",
            ),
            col(
                "max_daily_gain_vs_baseline",
                pa.float64(),
                "that gain / what the profile's median pace (followers per day between readings, 28 days) gains over the same time, at least the precision",
            ),
            col(
                "projected_followers",
                pa.int64(),
                "followers + cfg_rising.projection_days x the daily gain over the signal window",
            ),
            col(
                "is_suspicious",
                pa.bool_(),
                "follower growth looks bought: see docs/SCORES.md",
                nullable=False,
            ),
            col("suspicious_reasons", pa.list_(pa.string()), "why is_suspicious, in words", nullable=False),
            col(
                "rising_score",
                pa.float64(),
                "0-100, peer-relative blend of growth and engagement: see docs/SCORES.md",
            ),
            col(
                "is_rising",
                pa.bool_(),
                "a rising micro influencer on this day: see docs/SCORES.md",
                nullable=False,
            ),
            col(
                "rising_rank",
                pa.int64(),
                "rank by rising_score among rising profiles of the platform on the day (1 = best)",
            ),
            col(
                "rising_reasons",
                pa.list_(pa.string()),
                "why is_rising, in words a marketer can read",
                nullable=False,
            ),
        ]
    ),
)

STREAM_TOO_LATE = Dataset(
    name="stream_too_late",
    grain="one input line the `stream` command read after its window had closed (event day end + allowed lateness)",
    partition="ingest_date",
    partition_doc="UTC day the stream read the line",
    schema=pa.schema(
        [
            f if f.name != "reason" else col("reason", pa.string(), "always `too_late`", nullable=False)
            for f in REJECTED.schema
        ]
    ),
)

_COUNTER_DOC = (
    "last observed {kind} counter of the post (the latest post_metrics that has one); null if never observed"
)
POST_LATEST = Dataset(
    name="post_latest",
    grain="one post (platform, post_id) with a `post` event or a post_metrics observation",
    partition="platform",
    partition_doc="platform of the post",
    partition_type=pa.string(),
    schema=pa.schema(
        [
            col("post_id", pa.string(), "post id on that platform", nullable=False),
            col(
                "profile_id",
                pa.string(),
                "the post's author (of its `post` event, else of its latest observation)",
                nullable=False,
            ),
            col(
                "published_at",
                TIMESTAMP,
                "event_time of the post's `post` event (the earliest if several); null when unknown",
            ),
            col("media_type", pa.string(), "media type of the `post` event"),
            col(
                "sponsored",
                pa.bool_(),
                "the `post` event's sponsored flag; null when the post event is unknown",
            ),
            col("language", pa.string(), "the `post` event's language"),
        ]
        + [
            col(k, pa.int64(), _COUNTER_DOC.format(kind=k))
            for k in ("likes", "comments", "shares", "saves", "views")
        ]
        + [
            col(
                "observed_at",
                TIMESTAMP,
                "event_time of the post's latest post_metrics observation; null if never observed",
            ),
            col("observations", pa.int64(), "post_metrics observations of the post", nullable=False),
        ]
    ),
)

_LATEST_DOC = (
    "{what} of the profile's latest profile_snapshot that has one, by (event_time, event_id); null if none"
)
PROFILES = Dataset(
    name="profiles",
    grain="one profile (platform, profile_id) with at least one accepted event",
    partition="platform",
    partition_doc="platform of the profile",
    partition_type=pa.string(),
    schema=pa.schema(
        [
            col("profile_id", pa.string(), "creator id on that platform", nullable=False),
            col("handle", pa.string(), _LATEST_DOC.format(what="handle")),
            col("display_name", pa.string(), _LATEST_DOC.format(what="display name")),
            col(
                "country", pa.string(), _LATEST_DOC.format(what="country (ISO 3166-1 alpha-2, as delivered)")
            ),
            col("language", pa.string(), _LATEST_DOC.format(what="language (BCP 47, as delivered)")),
            col(
                "first_seen", TIMESTAMP, "event_time of the profile's earliest accepted event", nullable=False
            ),
            col("last_seen", TIMESTAMP, "event_time of the profile's latest accepted event", nullable=False),
        ]
    ),
)

BEAM_DATASETS = (EVENTS, REJECTED, ENGAGEMENT_DAILY, ENGAGEMENT_TRAILING)
# Whole-history entities, one row per post / profile, written by the nightly run (storage.entities).
ENTITY_DATASETS = (POST_LATEST, PROFILES)
GOLD_DATASETS = (PROFILE_DAILY,)
ALL_DATASETS = BEAM_DATASETS + ENTITY_DATASETS + GOLD_DATASETS
# Written only by the stream (pipelines/streaming.py), never staged by a nightly run, so not in
# ALL_DATASETS (what a commit publishes); analysts see it beside the others.
STREAM_DATASETS = (STREAM_TOO_LATE,)
VIEW_DATASETS = ALL_DATASETS + STREAM_DATASETS
BY_NAME = {d.name: d for d in VIEW_DATASETS}
