"""Engagement metrics of SPEC section 3, pure and columnar: events -> daily rows -> trailing windows.

Days are ints (days since 1970-01-01 UTC) inside this module: Beam keys must encode
deterministically and numpy indexes by int. Dates appear only at the table boundary.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from schemas.datasets import COUNT_METRICS, ENGAGEMENT_DAILY, ENGAGEMENT_TRAILING
from schemas.events import INTERACTION_TYPES, POST_COUNTERS
from schemas.units import US_PER_DAY, WINDOW_LENGTHS

_COUNTS = [name for name, _ in COUNT_METRICS]
_SUMMED = [c for c in _COUNTS if c not in ("interactions", "unique_engagers")]
_KEY = ["platform", "profile_id", "day"]
# The counter kind an interaction event of each type adds to (views have no event).
KIND_OF_EVENT = {"like": "likes", "comment": "comments", "share": "shares", "save": "saves"}
# Counter bookings (SPEC section 3): per post and kind, each observation's change, on its day. A
# row with a null day only marks the (post, kind) as countered (its bookings lie outside the days
# a computation reads): its events no longer add to the kind's count.
BOOKING_SCHEMA = pa.schema(
    [
        ("platform", pa.string()),
        ("profile_id", pa.string()),
        ("post_id", pa.string()),
        ("kind", pa.string()),
        ("day", pa.int32()),
        ("delta", pa.int64()),
    ]
)
# The event columns counter bookings read (post and post_metrics rows).
BOOKING_COLUMNS = [
    "platform",
    "profile_id",
    "post_id",
    "event_type",
    "event_time",
    "event_id",
    *POST_COUNTERS,
]
# Internal daily rows: days as int32 (days since 1970-01-01), before to_daily_dataset.
DAILY_SCHEMA = pa.schema(
    [("platform", pa.string()), ("profile_id", pa.string()), ("day", pa.int32())]
    + [
        (c, pa.int64())
        for c in _SUMMED + ["unique_engagers", "followers_first", "followers_last", "interactions"]
    ]
)


ENGAGER_SCHEMA = pa.schema(
    [("platform", pa.string()), ("profile_id", pa.string()), ("day", pa.int32()), ("engager", pa.string())]
)


def _event_day(events: pa.Table) -> pa.Array:
    return pc.divide(events["event_time"].cast(pa.int64()), US_PER_DAY).cast(pa.int32())


def _audience(events: pa.Table) -> pa.Array:
    """An audience interaction: a like, comment, share or save by someone other than the profile
    (as stored.EngagerFiles's SQL). An interaction without actor_id (contract v2: most platforms
    never name likers) is audience engagement from an unknown engager; a `follow` or a
    `post_metrics` row is never an interaction."""
    interaction = pc.is_in(events["event_type"], pa.array(INTERACTION_TYPES))
    return pc.and_(interaction, pc.fill_null(pc.not_equal(events["actor_id"], events["profile_id"]), True))


def _engager(events: pa.Table, audience: pa.Array) -> pa.Array:
    return pc.if_else(audience, events["actor_id"], pa.scalar(None, pa.string()))


def _in_days(ind: pa.Table, as_of_day: int, first_day: int | None) -> pa.Table:
    """Indicator rows of days in [first_day, as_of_day] (no lower bound when first_day is None)."""
    keep = pc.less_equal(ind["day"], as_of_day)
    if first_day is not None:
        keep = pc.and_(keep, pc.greater_equal(ind["day"], first_day))
    return ind.filter(keep)


def _post_kind_keys(platform, profile_id, post_id, kind) -> pa.Array:
    return pc.binary_join_element_wise(platform, profile_id, post_id, kind, "\x1f")


def _countered(events: pa.Table, bookings: pa.Table) -> pa.Array:
    """Per event: true for an interaction on a (post, kind) that has a counter (its events no longer count)."""
    if bookings.num_rows == 0:
        return pa.array(np.zeros(events.num_rows, dtype=bool))
    kind = pc.fill_null(
        pc.replace_substring_regex(events["event_type"], "^(like|comment|share|save)$", "\\1s"), ""
    )
    keys = _post_kind_keys(
        events["platform"], events["profile_id"], pc.fill_null(events["post_id"], ""), kind
    )
    countered = pc.unique(
        _post_kind_keys(bookings["platform"], bookings["profile_id"], bookings["post_id"], bookings["kind"])
    )
    return pc.fill_null(
        pc.and_(
            pc.is_in(events["event_type"], pa.array(INTERACTION_TYPES)), pc.is_in(keys, value_set=countered)
        ),
        False,
    )


def _booking_indicators(bookings: pa.Table) -> pa.Table:
    """Booking rows (with a day) -> indicator rows: the delta in its kind's column, `_booked` = 1."""
    bookings = bookings.filter(pc.is_valid(bookings["day"]))
    n = bookings.num_rows
    zeros = pa.array(np.zeros(n, dtype=np.int64))
    columns = {
        "platform": bookings["platform"],
        "profile_id": bookings["profile_id"],
        "day": bookings["day"],
        "event_time": pa.nulls(n, pa.timestamp("us", tz="UTC")),
        "event_id": pa.nulls(n, pa.string()),
    }
    for c in _SUMMED:
        columns[c] = (
            pc.if_else(pc.equal(bookings["kind"], c), bookings["delta"], 0) if c in POST_COUNTERS else zeros
        )
    columns |= {
        "_booked": pa.array(np.ones(n, dtype=np.int64)),
        "engager": pa.nulls(n, pa.string()),
        "followers": pa.nulls(n, pa.int64()),
    }
    return pa.table(columns)


def _indicators(events: pa.Table, bookings: pa.Table) -> pa.Table:
    """Per event: its day and 0/1 columns for each counted metric; actor only for audience interactions.
    Interactions on a countered (post, kind) count 0 (their actors still count as engagers)."""
    etype = events["event_type"]
    audience = _audience(events)
    counted = pc.and_(audience, pc.invert(_countered(events, bookings)))
    own = pc.fill_null(pc.equal(events["actor_id"], events["profile_id"]), False)  # comments only, below
    is_post = pc.equal(etype, "post")

    def flag(mask) -> pa.ChunkedArray:
        return pc.cast(mask, pa.int64())

    columns = {
        "platform": events["platform"],
        "profile_id": events["profile_id"],
        "day": _event_day(events),
        "event_time": events["event_time"],
        "event_id": events["event_id"],
        "posts": flag(is_post),
        "likes": flag(pc.and_(pc.equal(etype, "like"), counted)),
        "comments": flag(pc.and_(pc.equal(etype, "comment"), counted)),
        "shares": flag(pc.and_(pc.equal(etype, "share"), counted)),
        "saves": flag(pc.and_(pc.equal(etype, "save"), counted)),
        "views": pa.array(np.zeros(events.num_rows, dtype=np.int64)),
        "creator_replies": flag(pc.and_(pc.equal(etype, "comment"), own)),
        "sponsored_posts": flag(pc.and_(is_post, pc.fill_null(events["sponsored"], False))),
        "new_followers": flag(pc.equal(etype, "follow")),
        "_booked": pa.array(np.zeros(events.num_rows, dtype=np.int64)),
        "engager": _engager(events, audience),
        "followers": events["followers"],
    }
    return pa.table(columns)


def daily_engagement(
    events: pa.Table, as_of_day: int, first_day: int | None = None, bookings: pa.Table | None = None
) -> tuple[pa.Table, pa.Table]:
    """Events -> (daily metrics keyed by platform, profile_id, day:int32; distinct engagers per profile-day).

    Only events up to `as_of_day` count: later days are not complete yet. Events before
    `first_day` (if given) are outside every window being recomputed.

    `bookings` (BOOKING_SCHEMA, from counter_bookings over the posts' whole observation
    history): the counters' booked changes are added on their days and the countered (post,
    kind)s' events no longer count. None: the bookings of the post and post_metrics events of
    `events` itself (a table that holds every observation of its posts).
    """
    if bookings is None:
        bookings = counter_bookings(events)
    ind = _indicators(events, bookings)
    booked = _booking_indicators(bookings)
    if booked.num_rows:
        ind = pa.concat_tables([ind, booked.select(ind.column_names).cast(ind.schema)])
    ind = _in_days(ind, as_of_day, first_day)
    # first/last follow (event_time, event_id) order: sort, then aggregate without threads.
    ind = ind.sort_by([(c, "ascending") for c in _KEY + ["event_time", "event_id"]])
    aggregated = pa.TableGroupBy(ind, _KEY, use_threads=False).aggregate(
        [(c, "sum") for c in _SUMMED + ["_booked"]]
        + [
            ("engager", "count_distinct", pc.CountOptions(mode="only_valid")),
            ("followers", "first"),
            ("followers", "last"),
        ]
    )
    renames = {f"{c}_sum": c for c in _SUMMED}
    renames |= {
        "engager_count_distinct": "unique_engagers",
        "followers_first": "followers_first",
        "followers_last": "followers_last",
    }
    daily = aggregated.rename_columns([renames.get(n, n) for n in aggregated.column_names])
    interactions = pc.add(pc.add(daily["likes"], daily["comments"]), pc.add(daily["shares"], daily["saves"]))
    daily = daily.append_column("interactions", interactions)
    # engagement only from counters: counter bookings and no known engager -> unknown, not 0
    only_counters = pc.and_(pc.greater(daily["_booked_sum"], 0), pc.equal(daily["unique_engagers"], 0))
    daily = daily.set_column(
        daily.schema.get_field_index("unique_engagers"),
        "unique_engagers",
        pc.if_else(only_counters, pa.scalar(None, pa.int64()), daily["unique_engagers"]),
    )
    return daily.select(DAILY_SCHEMA.names).cast(DAILY_SCHEMA), _distinct_engagers(ind)


def _distinct_engagers(ind: pa.Table) -> pa.Table:
    engagers = ind.filter(pc.is_valid(ind["engager"])).select(ENGAGER_SCHEMA.names)
    return (
        pa.TableGroupBy(engagers, ENGAGER_SCHEMA.names, use_threads=False).aggregate([]).cast(ENGAGER_SCHEMA)
    )


def daily_engagement_by_day_ranges(
    events: pa.Table,
    as_of_day: int,
    first_day: int | None = None,
    max_rows: int = 500_000,
    bookings: pa.Table | None = None,
) -> tuple[pa.Table, pa.Table]:
    """daily_engagement over ranges of whole days of at most `max_rows` events each (a single
    bigger day is a range of its own), concatenated. Daily rows and distinct engagers are per
    day, so the result is exactly daily_engagement(events); the working memory follows
    `max_rows` instead of a heavy profile's whole history. Each booking goes with the range
    holding its day (the first range takes the days before it, the last those after it)."""
    if bookings is None:
        bookings = counter_bookings(events)
    if events.num_rows <= max_rows:
        return daily_engagement(events, as_of_day, first_day, bookings)
    days = pc.divide(events["event_time"].cast(pa.int64()), US_PER_DAY).cast(pa.int32()).to_numpy()
    order = np.argsort(days, kind="stable")
    sorted_days = days[order]
    per_day_end = np.flatnonzero(np.diff(sorted_days)) + 1  # row index where each new day starts
    bounds = np.concatenate(([0], per_day_end, [len(order)]))
    dailies, engagers = [], []
    markers = bookings.filter(pc.is_null(bookings["day"]))  # countered keys, for every range
    dated = bookings.filter(pc.is_valid(bookings["day"]))
    start = 0
    while start < len(order):
        # the furthest day boundary within max_rows of `start` (at least one whole day)
        limit = bounds[(bounds > start) & (bounds <= start + max_rows)]
        stop = int(limit[-1]) if len(limit) else int(bounds[bounds > start][0])
        keep = pa.array(np.ones(dated.num_rows, dtype=bool))
        if start > 0:
            keep = pc.and_(keep, pc.greater_equal(dated["day"], int(sorted_days[start])))
        if stop < len(order):
            keep = pc.and_(keep, pc.less(dated["day"], int(sorted_days[stop])))
        in_range = pa.concat_tables([markers, dated.filter(keep), _key_markers(dated)])
        daily, engaged = daily_engagement(
            events.take(pa.array(order[start:stop])), as_of_day, first_day, in_range
        )
        dailies.append(daily)
        engagers.append(engaged)
        start = stop
    return pa.concat_tables(dailies).combine_chunks(), pa.concat_tables(engagers).combine_chunks()


def _key_markers(bookings: pa.Table) -> pa.Table:
    """One day-less row per (post, kind) of `bookings`: keeps them countered without booking anything."""
    keys = pa.TableGroupBy(
        bookings.select(["platform", "profile_id", "post_id", "kind"]),
        ["platform", "profile_id", "post_id", "kind"],
        use_threads=False,
    ).aggregate([])
    n = keys.num_rows
    return (
        keys.append_column("day", pa.nulls(n, pa.int32()))
        .append_column("delta", pa.nulls(n, pa.int64()))
        .select(BOOKING_SCHEMA.names)
        .cast(BOOKING_SCHEMA)
    )


def counter_bookings(history: pa.Table, horizon_day: int | None = None) -> pa.Table:
    """Post and post_metrics events (BOOKING_COLUMNS; a post's whole observation history) -> the
    counters' bookings of SPEC section 3, one row per (post, kind, observation):

    per (platform, profile_id, post_id) and kind, observations ordered by (event_time, event_id):
    the first books its whole value on the post's publish day (its `post` event's day, the
    earliest if several) when known, else on its own day; each later one books its change
    (negative allowed) on its own day. A day before `horizon_day` books on `horizon_day`."""
    etype = history["event_type"]
    posts = history.filter(pc.equal(etype, "post"))
    post_keys = pc.binary_join_element_wise(posts["platform"], posts["profile_id"], posts["post_id"], "\x1f")
    post_days = pa.table({"k": post_keys, "d": _event_day(posts)})
    publish = pa.TableGroupBy(post_days, ["k"], use_threads=False).aggregate([("d", "min")])
    observed = history.filter(pc.equal(etype, "post_metrics"))
    pieces = []
    for kind in POST_COUNTERS:
        if kind not in observed.column_names:
            continue
        obs = observed.filter(pc.is_valid(observed[kind]))
        if obs.num_rows == 0:
            continue
        obs = obs.sort_by(
            [(c, "ascending") for c in ["platform", "profile_id", "post_id", "event_time", "event_id"]]
        )
        keys = pc.binary_join_element_wise(obs["platform"], obs["profile_id"], obs["post_id"], "\x1f")
        codes = pc.dictionary_encode(keys).combine_chunks().indices.to_numpy()
        values = obs[kind].to_numpy()
        first = np.ones(len(codes), dtype=bool)
        first[1:] = codes[1:] != codes[:-1]
        delta = values.copy()
        delta[1:] = np.where(first[1:], values[1:], values[1:] - values[:-1])
        observed_day = _event_day(obs)
        published = pc.coalesce(pc.take(publish["d_min"], pc.index_in(keys, publish["k"])), observed_day)
        day = np.where(
            first, published.to_numpy(zero_copy_only=False), observed_day.to_numpy(zero_copy_only=False)
        ).astype(np.int64)
        if horizon_day is not None:
            day = np.maximum(day, horizon_day)
        pieces.append(
            pa.table(
                {
                    "platform": obs["platform"],
                    "profile_id": obs["profile_id"],
                    "post_id": obs["post_id"],
                    "kind": pa.array([kind] * len(codes), pa.string()),
                    "day": pa.array(day, pa.int32()),
                    "delta": pa.array(delta, pa.int64()),
                }
            )
        )
    if not pieces:
        return BOOKING_SCHEMA.empty_table()
    return pa.concat_tables(pieces).cast(BOOKING_SCHEMA)


def to_daily_dataset(daily: pa.Table) -> pa.Table:
    """Internal daily rows -> ENGAGEMENT_DAILY columns plus the `day` partition column (date32)."""
    out = daily.select(ENGAGEMENT_DAILY.columns).cast(ENGAGEMENT_DAILY.data_schema)
    return out.append_column("day", daily["day"].cast(pa.date32()))


def from_daily_dataset(rows: pa.Table) -> pa.Table:
    """Stored ENGAGEMENT_DAILY rows (with the `day` partition as date32) -> internal daily rows."""
    out = rows.select(ENGAGEMENT_DAILY.columns).append_column("day", rows["day"].cast(pa.int32()))
    for c in _SUMMED:  # a file written before a metric existed reads it as null: none counted
        out = out.set_column(out.schema.get_field_index(c), c, pc.fill_null(out[c], 0))
    return out.select(DAILY_SCHEMA.names).cast(DAILY_SCHEMA)


def _rolling_sum(matrix: np.ndarray, length: int) -> np.ndarray:
    """Sum over the trailing `length` columns ending at each column."""
    csum = np.concatenate([np.zeros((matrix.shape[0], 1), matrix.dtype), np.cumsum(matrix, axis=1)], axis=1)
    ends = np.arange(1, matrix.shape[1] + 1)
    return csum[:, ends] - csum[:, np.maximum(ends - length, 0)]


def _unique_in_window(p_idx, d_idx, actor_codes, shape, length) -> np.ndarray:
    """Exact distinct engagers per (profile, window end): each (actor, day) opens coverage of the
    ends [day, day+length-1]; overlapping coverage of the same actor is counted once."""
    result = np.zeros((shape[0], shape[1] + 1), dtype=np.int64)
    if len(p_idx):
        order = np.lexsort((d_idx, actor_codes, p_idx))
        p, a, d = p_idx[order], actor_codes[order], d_idx[order]
        same = np.zeros(len(p), dtype=bool)
        same[1:] = (p[1:] == p[:-1]) & (a[1:] == a[:-1])
        prev_end = np.empty(len(p), dtype=np.int64)
        prev_end[0] = -1
        prev_end[1:] = d[:-1] + length  # first end not yet covered by the previous day of that actor
        start = np.where(same, np.maximum(d, prev_end), d)
        stop = np.minimum(d + length, shape[1])  # exclusive
        keep = start < stop
        np.add.at(result, (p[keep], start[keep]), 1)
        np.add.at(result, (p[keep], stop[keep]), -1)
    return np.cumsum(result, axis=1)[:, :-1]


def trailing_engagement(
    daily: pa.Table,
    engagers: pa.Table,
    as_of_day: int,
    recompute_from: int | None = None,
    lengths: tuple[int, ...] = WINDOW_LENGTHS,
) -> pa.Table:
    """Daily rows of some profiles (all their days) -> trailing windows ending on every day up to
    `as_of_day` (from `recompute_from` on, if given) while the window holds an accepted event."""
    if daily.num_rows == 0:
        return ENGAGEMENT_TRAILING.data_schema.empty_table().append_column(
            "window_end", pa.array([], pa.date32())
        )
    profiles = pc.binary_join_element_wise(daily["platform"], daily["profile_id"], "\x1f")
    names = pc.unique(profiles).sort()
    p_of_row = pc.index_in(profiles, names).to_numpy()
    day0 = pc.min(daily["day"]).as_py()
    width = as_of_day - day0 + 1
    d_of_row = daily["day"].to_numpy() - day0
    shape = (len(names), width)

    def dense(column: str, fill=0) -> np.ndarray:
        m = np.full(shape, fill, dtype=np.int64)
        values = daily[column].to_numpy(zero_copy_only=False)
        m[p_of_row, d_of_row] = values
        return m

    present = np.zeros(shape, dtype=np.int64)
    present[p_of_row, d_of_row] = 1
    valid_first = pc.is_valid(daily["followers_first"]).to_numpy(zero_copy_only=False)
    has_snap = np.zeros(shape, dtype=bool)
    has_snap[p_of_row[valid_first], d_of_row[valid_first]] = True
    f_first = dense_nullable(daily["followers_first"], p_of_row, d_of_row, shape)
    f_last = dense_nullable(daily["followers_last"], p_of_row, d_of_row, shape)

    col_idx = np.arange(width)
    last_snap = np.maximum.accumulate(np.where(has_snap, col_idx, -1), axis=1)
    next_snap = np.minimum.accumulate(np.where(has_snap, col_idx, width)[:, ::-1], axis=1)[:, ::-1]

    engager_profiles = pc.binary_join_element_wise(engagers["platform"], engagers["profile_id"], "\x1f")
    e_p = pc.index_in(engager_profiles, names).to_numpy()
    e_d = engagers["day"].to_numpy() - day0
    e_a = pc.dictionary_encode(engagers["engager"]).combine_chunks().indices.to_numpy()

    sums = {c: dense(c) for c in _SUMMED + ["interactions"]}
    # days whose engagement came only from counters (their unique_engagers is null)
    unknown = np.zeros(shape, dtype=np.int64)
    unknown_rows = pc.is_null(daily["unique_engagers"]).to_numpy(zero_copy_only=False)
    unknown[p_of_row[unknown_rows], d_of_row[unknown_rows]] = 1
    pieces = []
    for length in lengths:
        in_window = _rolling_sum(present, length) > 0
        if recompute_from is not None:
            in_window[:, : max(recompute_from - day0, 0)] = False
        p_out, e_out = np.nonzero(in_window)
        start = np.maximum(e_out - length + 1, 0)
        last_i = last_snap[p_out, e_out]
        first_i = next_snap[p_out, start]
        has_last = last_i >= start
        columns = {"_p": p_out, "window_days": np.full(len(p_out), length, dtype=np.int32)}
        for c, m in sums.items():
            columns[c] = _rolling_sum(m, length)[p_out, e_out]
        # An engager's day reaches the window ends up to `length - 1` days later: earlier days reach
        # none of the ends computed here (nor change what later days of that engager count).
        near = e_d >= (recompute_from - day0 if recompute_from is not None else 0) - length + 1
        unique = _unique_in_window(e_p[near], e_d[near], e_a[near], shape, length)[p_out, e_out]
        # null when the window's engagement comes only from counters: counter days, no known engager
        columns["unique_engagers"] = pa.array(
            unique, mask=(_rolling_sum(unknown, length)[p_out, e_out] > 0) & (unique == 0)
        )
        columns["followers_first"] = pa.array(
            np.where(has_last, f_first[p_out, np.minimum(first_i, width - 1)], 0), mask=~has_last
        )
        columns["followers_last"] = pa.array(
            np.where(has_last, f_last[p_out, np.maximum(last_i, 0)], 0), mask=~has_last
        )
        columns["window_end"] = pa.array(e_out + day0, pa.int32()).cast(pa.date32())
        pieces.append(pa.table(columns))
    out = pa.concat_tables(pieces)
    # combine_chunks keeps the int64 type when no window is left (pa.array of no chunks is null-typed)
    keys = pc.split_pattern(pc.take(names, out["_p"].combine_chunks()), "\x1f")
    out = out.append_column("platform", pc.list_element(keys, 0)).append_column(
        "profile_id", pc.list_element(keys, 1)
    )
    result = out.select(ENGAGEMENT_TRAILING.columns).cast(ENGAGEMENT_TRAILING.data_schema)
    return result.append_column("window_end", out["window_end"])


def dense_nullable(column: pa.ChunkedArray, p_idx: np.ndarray, d_idx: np.ndarray, shape) -> np.ndarray:
    m = np.zeros(shape, dtype=np.int64)
    values = pc.fill_null(column, 0).to_numpy()
    m[p_idx, d_idx] = values
    return m
