"""Engagement metrics of SPEC section 3, pure and columnar: events -> daily rows -> trailing windows.

Days are ints (days since 1970-01-01 UTC) inside this module: Beam keys must encode
deterministically and numpy indexes by int. Dates appear only at the table boundary.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from schemas.units import US_PER_DAY, WINDOW_LENGTHS
from schemas.datasets import COUNT_METRICS, ENGAGEMENT_DAILY, ENGAGEMENT_TRAILING
from schemas.events import INTERACTION_TYPES

_COUNTS = [name for name, _ in COUNT_METRICS]
_SUMMED = [c for c in _COUNTS if c not in ("interactions", "unique_engagers")]
_KEY = ["platform", "profile_id", "day"]
# Internal daily rows: days as int32 (days since 1970-01-01), before to_daily_dataset.
DAILY_SCHEMA = pa.schema(
    [("platform", pa.string()), ("profile_id", pa.string()), ("day", pa.int32())]
    + [(c, pa.int64()) for c in _SUMMED + ["unique_engagers", "followers_first", "followers_last", "interactions"]]
)


ENGAGER_SCHEMA = pa.schema([("platform", pa.string()), ("profile_id", pa.string()), ("day", pa.int32()),
                            ("engager", pa.string())])


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


def _indicators(events: pa.Table) -> pa.Table:
    """Per event: its day and 0/1 columns for each counted metric; actor only for audience interactions."""
    etype = events["event_type"]
    audience = _audience(events)
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
        "likes": flag(pc.and_(pc.equal(etype, "like"), audience)),
        "comments": flag(pc.and_(pc.equal(etype, "comment"), audience)),
        "shares": flag(pc.and_(pc.equal(etype, "share"), audience)),
        "saves": flag(pc.and_(pc.equal(etype, "save"), audience)),
        "creator_replies": flag(pc.and_(pc.equal(etype, "comment"), own)),
        "sponsored_posts": flag(pc.and_(is_post, pc.fill_null(events["sponsored"], False))),
        "engager": _engager(events, audience),
        "followers": events["followers"],
    }
    return pa.table(columns)


def daily_engagement(events: pa.Table, as_of_day: int, first_day: int | None = None) -> tuple[pa.Table, pa.Table]:
    """Events -> (daily metrics keyed by platform, profile_id, day:int32; distinct engagers per profile-day).

    Only events up to `as_of_day` count: later days are not complete yet. Events before
    `first_day` (if given) are outside every window being recomputed.
    """
    ind = _in_days(_indicators(events), as_of_day, first_day)
    # first/last follow (event_time, event_id) order: sort, then aggregate without threads.
    ind = ind.sort_by([(c, "ascending") for c in _KEY + ["event_time", "event_id"]])
    aggregated = pa.TableGroupBy(ind, _KEY, use_threads=False).aggregate(
        [(c, "sum") for c in _SUMMED]
        + [
            ("engager", "count_distinct", pc.CountOptions(mode="only_valid")),
            ("followers", "first"),
            ("followers", "last"),
        ]
    )
    renames = {f"{c}_sum": c for c in _SUMMED}
    renames |= {"engager_count_distinct": "unique_engagers", "followers_first": "followers_first",
                "followers_last": "followers_last"}
    daily = aggregated.rename_columns([renames.get(n, n) for n in aggregated.column_names])
    interactions = pc.add(pc.add(daily["likes"], daily["comments"]), pc.add(daily["shares"], daily["saves"]))
    daily = daily.append_column("interactions", interactions)
    return daily.select(DAILY_SCHEMA.names).cast(DAILY_SCHEMA), _distinct_engagers(ind)


def _distinct_engagers(ind: pa.Table) -> pa.Table:
    engagers = ind.filter(pc.is_valid(ind["engager"])).select(ENGAGER_SCHEMA.names)
    return pa.TableGroupBy(engagers, ENGAGER_SCHEMA.names, use_threads=False).aggregate([]).cast(ENGAGER_SCHEMA)


def daily_engagement_by_day_ranges(events: pa.Table, as_of_day: int, first_day: int | None = None,
                                   max_rows: int = 500_000) -> tuple[pa.Table, pa.Table]:
    """daily_engagement over ranges of whole days of at most `max_rows` events each (a single
    bigger day is a range of its own), concatenated. Daily rows and distinct engagers are per
    day, so the result is exactly daily_engagement(events); the working memory follows
    `max_rows` instead of a heavy profile's whole history."""
    if events.num_rows <= max_rows:
        return daily_engagement(events, as_of_day, first_day)
    days = pc.divide(events["event_time"].cast(pa.int64()), US_PER_DAY).cast(pa.int32()).to_numpy()
    order = np.argsort(days, kind="stable")
    sorted_days = days[order]
    per_day_end = np.flatnonzero(np.diff(sorted_days)) + 1  # row index where each new day starts
    bounds = np.concatenate(([0], per_day_end, [len(order)]))
    dailies, engagers = [], []
    start = 0
    while start < len(order):
        # the furthest day boundary within max_rows of `start` (at least one whole day)
        limit = bounds[(bounds > start) & (bounds <= start + max_rows)]
        stop = int(limit[-1]) if len(limit) else int(bounds[bounds > start][0])
        daily, engaged = daily_engagement(events.take(pa.array(order[start:stop])), as_of_day, first_day)
        dailies.append(daily)
        engagers.append(engaged)
        start = stop
    return pa.concat_tables(dailies).combine_chunks(), pa.concat_tables(engagers).combine_chunks()


def to_daily_dataset(daily: pa.Table) -> pa.Table:
    """Internal daily rows -> ENGAGEMENT_DAILY columns plus the `day` partition column (date32)."""
    out = daily.select(ENGAGEMENT_DAILY.columns).cast(ENGAGEMENT_DAILY.data_schema)
    return out.append_column("day", daily["day"].cast(pa.date32()))


def from_daily_dataset(rows: pa.Table) -> pa.Table:
    """Stored ENGAGEMENT_DAILY rows (with the `day` partition as date32) -> internal daily rows."""
    out = rows.select(ENGAGEMENT_DAILY.columns).append_column("day", rows["day"].cast(pa.int32()))
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
    daily: pa.Table, engagers: pa.Table, as_of_day: int, recompute_from: int | None = None,
    lengths: tuple[int, ...] = WINDOW_LENGTHS,
) -> pa.Table:
    """Daily rows of some profiles (all their days) -> trailing windows ending on every day up to
    `as_of_day` (from `recompute_from` on, if given) while the window holds an accepted event."""
    if daily.num_rows == 0:
        return ENGAGEMENT_TRAILING.data_schema.empty_table().append_column("window_end", pa.array([], pa.date32()))
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
        columns["unique_engagers"] = _unique_in_window(e_p[near], e_d[near], e_a[near], shape, length)[p_out, e_out]
        columns["followers_first"] = pa.array(np.where(has_last, f_first[p_out, np.minimum(first_i, width - 1)], 0),
                                              mask=~has_last)
        columns["followers_last"] = pa.array(np.where(has_last, f_last[p_out, np.maximum(last_i, 0)], 0), mask=~has_last)
        columns["window_end"] = pa.array(e_out + day0, pa.int32()).cast(pa.date32())
        pieces.append(pa.table(columns))
    out = pa.concat_tables(pieces)
    # combine_chunks keeps the int64 type when no window is left (pa.array of no chunks is null-typed)
    keys = pc.split_pattern(pc.take(names, out["_p"].combine_chunks()), "\x1f")
    out = out.append_column("platform", pc.list_element(keys, 0)).append_column("profile_id", pc.list_element(keys, 1))
    result = out.select(ENGAGEMENT_TRAILING.columns).cast(ENGAGEMENT_TRAILING.data_schema)
    return result.append_column("window_end", out["window_end"])


def dense_nullable(column: pa.ChunkedArray, p_idx: np.ndarray, d_idx: np.ndarray, shape) -> np.ndarray:
    m = np.zeros(shape, dtype=np.int64)
    values = pc.fill_null(column, 0).to_numpy()
    m[p_idx, d_idx] = values
    return m
