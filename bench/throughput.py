"""Columnar speed on one machine: the microradar Beam pipeline against a DuckDB baseline.

    .venv/bin/python -m bench.throughput --events 1000000 [--events 10000000] [--workers 1|2] [--out /tmp/bench]

For each `--events N`, in one invocation:
  1. generate N seeded JSONL lines (8 files, 2 gzipped): posts, interactions and profile
     snapshots of ~20k profiles over 30 days, Zipf-like, one profile with 15% of the events,
     ~1% exact duplicate lines and ~0.1% malformed lines;
  2. run the Beam pipeline (`pipelines.batch`) in a child process;
  3. run the same job as DuckDB SQL in a child process;
  4. compare engagement_daily, engagement_trailing and events of both, row for row;
  5. print wall seconds, events/s and peak RSS of the whole process tree of each engine.

Timings are measured, never asserted.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np

PLATFORMS = ("instagram", "tiktok", "youtube", "bluesky")
TYPE_NAMES = ("post", "like", "comment", "share", "save", "profile_snapshot")
POST, SNAPSHOT = 0, 5
MEDIA = ("image", "video", "reel", "story", "text")
# (offset text, offset in seconds): local time = UTC + offset
OFFSETS = (("Z", 0), ("+00:00", 0), ("+01:00", 3600), ("-05:00", -18000), ("+05:30", 19800))
FIRST_DAY = date(2026, 10, 2)
EPOCH = date(1970, 1, 1)
HEAVY_SHARE = 0.15


# The DuckDB script's trailing windows: issue 20's script computes 7- and 28-day windows; the
# pipeline also computes 14-day ones (contract v2), which the comparison leaves out. The ratios
# are therefore conservative: the script does less work than the pipeline.
SCRIPT_WINDOWS = (7, 28)
SCRIPT_VALUES = "(VALUES " + ", ".join(f"({n})" for n in SCRIPT_WINDOWS) + ")"


# --------------------------------------------------------------------------- generator


def profile_key(i: int) -> tuple[str, str]:
    """Profile index -> (platform, profile_id). Ids 2k and 2k+1 share a profile_id on two platforms."""
    return PLATFORMS[i % 4], f"c{i // 2:05d}"


def _zipf_weights(n_profiles: int, heavy: float) -> np.ndarray:
    """Profile 0 gets `heavy` of the draws, the others a 1/rank tail."""
    tail = 1.0 / np.arange(1, n_profiles, dtype=np.float64)
    tail = tail / tail.sum() * (1 - heavy)
    return np.concatenate(([heavy], tail))


def _snapshots(rng, n_snap: int, n_profiles: int, days: int):
    """Snapshot events: profile 0 hourly (some hours twice at the same instant), the next
    profiles by rank once a day, so first/last by (event_time, event_id) is exercised."""
    prof, t_us = [], []
    hours = np.arange(days * 24)
    prof.append(np.zeros(len(hours), np.int64))
    t_us.append(hours * 3_600_000_000)
    ties = hours[hours % 6 == 0]  # a second snapshot at exactly the same instant
    prof.append(np.zeros(len(ties), np.int64))
    t_us.append(ties * 3_600_000_000)
    left = max(n_snap - len(hours) - len(ties), 0)
    daily_profiles = min(left // days, n_profiles - 1)
    if daily_profiles:
        p = np.repeat(np.arange(1, daily_profiles + 1), days)
        d = np.tile(np.arange(days), daily_profiles)
        prof.append(p)
        t_us.append(d * 86_400_000_000 + rng.integers(0, 86_400_000_000, len(p)))
    return np.concatenate(prof), np.concatenate(t_us)


def _ts(t_us: int, off_i: int, frac: bool, day_strs: list[str]) -> str:
    """t_us: microseconds since the first day 00:00 UTC -> RFC 3339 text in one of OFFSETS."""
    text, off = OFFSETS[off_i]
    local = t_us // 1_000_000 + off
    d, s = divmod(local, 86_400)
    h, s = divmod(s, 3600)
    m, s = divmod(s, 60)
    if frac:
        return f"{day_strs[d + 1]}T{h:02d}:{m:02d}:{s:02d}.{t_us % 1_000_000:06d}{text}"
    return f"{day_strs[d + 1]}T{h:02d}:{m:02d}:{s:02d}{text}"


_MALFORMED = (
    ("invalid_json", '{{"event_id":"bad{k}","event_type":"like","event_time":"2026-10-0'),
    (
        "naive_timestamp",
        '{{"event_id":"bad{k}","event_type":"like","event_time":"2026-10-05T10:00:00",'
        '"platform":"instagram","profile_id":"c00001","post_id":"x","actor_id":"u1"}}',
    ),
    (
        "missing_field",
        '{{"event_id":"bad{k}","event_type":"like","event_time":"2026-10-05T10:00:00Z",'
        '"platform":"instagram","post_id":"x","actor_id":"u1"}}',
    ),
    (
        "unknown_event_type",
        '{{"event_id":"bad{k}","event_type":"retweet","event_time":"2026-10-05T10:00:00Z",'
        '"platform":"instagram","profile_id":"c00001"}}',
    ),
    (
        "negative_count",
        '{{"event_id":"bad{k}","event_type":"profile_snapshot","event_time":"2026-10-05T10:00:00Z",'
        '"platform":"tiktok","profile_id":"c00001","followers":-5}}',
    ),
    ("invalid_json", "[1, 2, 3]"),
    (
        "invalid_timestamp",
        '{{"event_id":"bad{k}","event_type":"post","event_time":"yesterday",'
        '"platform":"instagram","profile_id":"c00001","post_id":"x"}}',
    ),
    (
        "invalid_type",
        '{{"event_id":"bad{k}","event_type":"profile_snapshot","event_time":"2026-10-05T10:00:00Z",'
        '"platform":"tiktok","profile_id":"c00001","followers":"many"}}',
    ),
)


def generate(
    landing: Path,
    events: int,
    seed: int = 7,
    profiles: int = 20_000,
    days: int = 30,
    files: int = 8,
    gz_files: int = 2,
    first_day: date = FIRST_DAY,
    id_prefix: str = "",
) -> dict:
    """Writes `events` lines into `files` JSONL files below `landing` (the last `gz_files` gzipped),
    with event times on `days` days from `first_day`; `id_prefix` keeps two generated landings'
    event ids apart (bench/nightly.py lands a history and a night).

    Deterministic for a seed. About 1% of the lines are exact copies of another line (in the same
    or another file) and 0.1% are malformed (one of several reject reasons)."""
    rng = np.random.default_rng(seed)
    n_bad = max(events // 1000, 1)
    n_dup = max(events // 100, 1)
    n = events - n_bad - n_dup  # unique valid events
    n_snap = min(n // 10, profiles * days)
    s_prof, s_t = _snapshots(rng, n_snap, profiles, days)
    n_other = n - len(s_prof)
    if n_other < 0:
        raise ValueError("too few events for the snapshots")

    # profile 0 holds HEAVY_SHARE of all events, its own snapshots included
    heavy = min(max((HEAVY_SHARE * n - np.count_nonzero(s_prof == 0)) / max(n_other, 1), 0.0), 0.9)
    o_prof = rng.choice(profiles, size=n_other, p=_zipf_weights(profiles, heavy))
    o_type = rng.choice(5, size=n_other, p=[0.08, 0.56, 0.18, 0.09, 0.09])  # post, like, comment, share, save
    o_t = rng.integers(0, days * 86_400_000_000, n_other)
    prof = np.concatenate([s_prof, o_prof])
    etype = np.concatenate([np.full(len(s_prof), SNAPSHOT), o_type])
    t_us = np.concatenate([s_t, o_t])
    perm = rng.permutation(n)
    prof, etype, t_us = prof[perm], etype[perm], t_us[perm]

    plat = prof % 4
    seq = np.empty(n, np.int64)  # event ids count per platform: the same id exists on several platforms
    for p in range(4):
        where = np.flatnonzero(plat == p)
        seq[where] = np.arange(len(where))
    off_i = rng.choice(len(OFFSETS), size=n, p=[0.6, 0.1, 0.1, 0.1, 0.1])
    frac = rng.random(n) < 0.2
    # audience actors: skewed over 300k users; ~3% self-engagement (actor = the profile itself)
    actor = (rng.random(n) ** 2 * 300_000).astype(np.int64)
    self_eng = rng.random(n) < 0.03
    post_no = rng.integers(0, 500, n)
    extra = rng.integers(0, 1_000_000, n)  # sponsored / media / reply / follower noise
    base_followers = (rng.lognormal(9.5, 1.4, profiles)).astype(np.int64)
    growth = rng.normal(0.01, 0.01, profiles)

    day_strs = [(first_day + timedelta(days=d)).isoformat() for d in range(-1, days + 2)]
    keys = [profile_key(i) for i in range(profiles)]

    # line sources: i >= 0 a valid event, -1-k the k-th malformed line; duplicates repeat a source
    sources = np.concatenate([np.arange(n), rng.integers(0, n, n_dup), -1 - np.arange(n_bad)])
    sources = sources[rng.permutation(len(sources))]

    landing.mkdir(parents=True, exist_ok=True)
    bounds = np.linspace(0, len(sources), files + 1).astype(np.int64)
    written = []
    for f in range(files):
        chunk = sources[bounds[f] : bounds[f + 1]]
        lines = _format_lines(
            chunk,
            prof,
            etype,
            t_us,
            seq,
            off_i,
            frac,
            actor,
            self_eng,
            post_no,
            extra,
            base_followers,
            growth,
            keys,
            day_strs,
            id_prefix,
        )
        gz = f >= files - gz_files
        name = f"events-{f:02d}.jsonl" + (".gz" if gz else "")
        data = ("\n".join(lines) + "\n").encode()
        path = landing / f"day={first_day.isoformat()}" / name if f % 2 else landing / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if gz:
            with gzip.open(path, "wb", compresslevel=1) as out:
                out.write(data)
        else:
            path.write_bytes(data)
        written.append(str(path))
    return {
        "lines": int(len(sources)),
        "unique_events": int(n),
        "duplicate_lines": int(n_dup),
        "malformed_lines": int(n_bad),
        "snapshots": int(len(s_prof)),
        "heavy_profile_events": int(np.count_nonzero(prof == 0)),
        "first_day": first_day.isoformat(),
        "as_of_day": (first_day + timedelta(days=days - 1)).isoformat(),
        "files": written,
    }


def _format_lines(
    chunk,
    prof,
    etype,
    t_us,
    seq,
    off_i,
    frac,
    actor,
    self_eng,
    post_no,
    extra,
    base_followers,
    growth,
    keys,
    day_strs,
    id_prefix: str = "",
) -> list[str]:
    valid = chunk[chunk >= 0]
    cols = [a[valid].tolist() for a in (prof, etype, t_us, seq, off_i, frac, actor, self_eng, post_no, extra)]
    by_source = {}
    for i, p, t, tu, sq, oi, fr, ac, se, pn, ex in zip(valid.tolist(), *cols):
        platform, pid = keys[p]
        head = (
            f'{{"event_id":"{id_prefix}e{sq:09d}","event_type":"{TYPE_NAMES[t]}",'
            f'"event_time":"{_ts(tu, oi, fr, day_strs)}",'
            f'"platform":"{platform}","profile_id":"{pid}"'
        )
        if t == SNAPSHOT:
            day = tu // 86_400_000_000
            followers = int(base_followers[p] * (1 + growth[p]) ** day) + ex % 50
            line = f'{head},"followers":{followers},"following":{ex % 900}}}'
        elif t == POST:
            sponsored = "true" if ex % 10 == 0 else "false"
            line = (
                f'{head},"post_id":"{pid}-p{pn}","media_type":"{MEDIA[ex % 5]}",'
                f'"hashtags":["tag{ex % 37}","tag{ex % 11}"],"sponsored":{sponsored}}}'
            )
        else:
            who = pid if se else f"u{ac:06d}"
            line = f'{head},"post_id":"{pid}-p{pn}","actor_id":"{who}"'
            if t == 2 and ex % 4 == 0:
                line += f',"reply_to":"k{ex}"'
            line += ',"schema_version":1}' if ex % 7 == 0 else "}"
        by_source[i] = line
    out = []
    for s in chunk.tolist():
        if s >= 0:
            out.append(by_source[s])
        else:
            k = -1 - s
            out.append(_MALFORMED[k % len(_MALFORMED)][1].format(k=k))
    return out


# --------------------------------------------------------------------------- engines (run in a child process)


def run_beam(
    landing: Path,
    staging: Path,
    beam_args: list[str],
    ingest_us: int,
    first_day: date,
    as_of: date,
    num_buckets: int = 16,
) -> dict:
    """The microradar batch pipeline over every file of `landing` into `staging`; returns its stats."""
    from ingest import landing as landing_mod
    from pipelines import batch

    files = landing_mod.discover(Path(landing))
    timings = {}
    clock = time.perf_counter()
    ingest = batch.run_ingest(
        batch.IngestJob(files, str(staging), "bench", ingest_us, num_buckets, beam_args)
    )
    timings["ingest"] = time.perf_counter() - clock
    clock = time.perf_counter()
    merge = batch.run_merge(
        batch.MergeJob(
            candidate_files=batch.candidate_files(str(staging)),
            touched_event_files=[],
            context_event_files=[],
            staging_dir=str(staging),
            run_id="bench",
            as_of=as_of,
            recompute_from=first_day,
            num_buckets=num_buckets,
            beam_args=beam_args,
        )
    )
    timings["merge"] = time.perf_counter() - clock
    shutil.rmtree(Path(staging, batch.CANDIDATES), ignore_errors=True)
    return {"stats": batch.run_report_counts(ingest, merge), "timings": timings}


_RFC3339 = r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$"
_FIELDS = [
    "event_id",
    "event_type",
    "event_time",
    "platform",
    "profile_id",
    "post_id",
    "actor_id",
    "followers",
    "sponsored",
    "schema_version",
]


def duckdb_sql(files: list[str], out: Path, ingest_us: int, first_day: date, as_of: date) -> list[str]:
    """The same job as SQL statements. Validation covers: JSON object, required strings present and
    non-empty, event_id <= 128 chars, lowercase platform, known event_type, RFC 3339 with offset
    (naive rejected), per-type required fields, followers a non-negative integer, sponsored boolean,
    schema_version 1, future events. It does not check media_type values, list element types,
    optional count fields or UTF-8 validity (DuckDB's CSV reader does that its own way)."""
    file_list = ", ".join(f"'{f}'" for f in files)
    paths = ", ".join(f"'$.{f}'" for f in _FIELDS)
    future = f"to_timestamp({ingest_us} / 1e6) + INTERVAL 24 HOUR"
    lo, hi = first_day.isoformat(), as_of.isoformat()
    return [
        "SET TimeZone='UTC'",
        # every line as text: a malformed line can be rejected with a reason instead of skipped
        f"""CREATE TEMP TABLE raw AS
            SELECT filename AS source_file, line FROM read_csv([{file_list}], columns={{'line': 'VARCHAR'}},
                   delim='', quote='', escape='', header=false, filename=true, auto_detect=false)
            WHERE trim(line) <> ''""",
        f"""CREATE TEMP TABLE parsed AS
            WITH j AS (
              SELECT source_file, line, CASE WHEN json_valid(line) THEN json_type(line) = 'OBJECT' ELSE false END AS ok FROM raw
            ), x AS (
              SELECT source_file, line, ok,
                     CASE WHEN ok THEN json_extract_string(line, [{paths}]) END AS v,
                     CASE WHEN ok THEN json_type(line, [{paths}]) END AS t
              FROM j
            )
            SELECT source_file, line, ok,
                   v[1] AS event_id, v[2] AS event_type, v[3] AS event_time, v[4] AS platform, v[5] AS profile_id,
                   v[6] AS post_id, v[7] AS actor_id, v[8] AS followers, v[9] AS sponsored, v[10] AS schema_version,
                   nullif(t[1], 'NULL') AS t_event_id, nullif(t[2], 'NULL') AS t_event_type,
                   nullif(t[3], 'NULL') AS t_event_time, nullif(t[4], 'NULL') AS t_platform,
                   nullif(t[5], 'NULL') AS t_profile_id, nullif(t[6], 'NULL') AS t_post_id,
                   nullif(t[7], 'NULL') AS t_actor_id, nullif(t[8], 'NULL') AS t_followers,
                   nullif(t[9], 'NULL') AS t_sponsored, nullif(t[10], 'NULL') AS t_schema_version
            FROM x""",
        f"""CREATE TEMP TABLE checked AS
            SELECT *, CASE
              WHEN NOT ok THEN 'invalid_json'
              WHEN t_event_id IS NULL OR t_event_type IS NULL OR t_event_time IS NULL OR t_platform IS NULL
                   OR t_profile_id IS NULL THEN 'missing_field'
              WHEN t_event_id <> 'VARCHAR' OR t_event_type <> 'VARCHAR' OR t_event_time <> 'VARCHAR'
                   OR t_platform <> 'VARCHAR' OR t_profile_id <> 'VARCHAR' THEN 'invalid_type'
              WHEN event_id = '' OR event_type = '' OR event_time = '' OR platform = '' OR profile_id = ''
                   OR length(event_id) > 128 OR platform <> lower(platform) THEN 'invalid_value'
              WHEN event_type NOT IN ('post', 'like', 'comment', 'share', 'save', 'profile_snapshot')
                   THEN 'unknown_event_type'
              WHEN t_schema_version IS NOT NULL AND t_schema_version NOT IN ('UBIGINT', 'BIGINT') THEN 'invalid_type'
              WHEN t_schema_version IS NOT NULL AND schema_version <> '1' THEN 'unsupported_schema_version'
              WHEN event_type = 'profile_snapshot' AND t_followers IS NULL THEN 'missing_field'
              WHEN event_type = 'profile_snapshot' AND t_followers NOT IN ('UBIGINT', 'BIGINT') THEN 'invalid_type'
              WHEN event_type = 'profile_snapshot' AND t_followers = 'BIGINT' THEN 'negative_count'
              WHEN event_type <> 'profile_snapshot' AND t_post_id IS NULL THEN 'missing_field'
              WHEN event_type <> 'profile_snapshot' AND t_post_id <> 'VARCHAR' THEN 'invalid_type'
              WHEN event_type IN ('like', 'comment', 'share', 'save') AND t_actor_id IS NULL THEN 'missing_field'
              WHEN event_type IN ('like', 'comment', 'share', 'save') AND t_actor_id <> 'VARCHAR' THEN 'invalid_type'
              WHEN event_type = 'post' AND t_sponsored IS NOT NULL AND t_sponsored NOT IN ('BOOLEAN', 'NULL')
                   THEN 'invalid_type'
              WHEN NOT regexp_full_match(event_time, '{_RFC3339[1:-1]}') THEN
                   CASE WHEN regexp_full_match(event_time, '\\d{{4}}-\\d{{2}}-\\d{{2}}[Tt ]\\d{{2}}:\\d{{2}}:\\d{{2}}(\\.\\d+)?')
                        THEN 'naive_timestamp' ELSE 'invalid_timestamp' END
              WHEN try_cast(event_time AS TIMESTAMPTZ) IS NULL THEN 'invalid_timestamp'
              WHEN try_cast(event_time AS TIMESTAMPTZ) > {future} THEN 'future_event'
            END AS reason
            FROM parsed""",
        f"""COPY (SELECT source_file, line AS raw_line, reason FROM checked WHERE reason IS NOT NULL)
            TO '{out}/rejected.parquet' (FORMAT parquet, COMPRESSION zstd)""",
        # one row per (platform, event_id); exact copies are interchangeable, the smallest line is kept
        """CREATE TEMP TABLE events AS
            SELECT platform, event_id, event_type, CAST(event_time AS TIMESTAMPTZ) AS event_time, profile_id,
                   CASE WHEN event_type <> 'profile_snapshot' THEN post_id END AS post_id,
                   CASE WHEN event_type IN ('like', 'comment', 'share', 'save') THEN actor_id END AS actor_id,
                   CASE WHEN event_type = 'profile_snapshot' THEN CAST(followers AS BIGINT) END AS followers,
                   CASE WHEN event_type = 'post' THEN coalesce(CAST(sponsored AS BOOLEAN), false) END AS sponsored,
                   CAST(CAST(event_time AS TIMESTAMPTZ) AS DATE) AS event_date
            FROM checked WHERE reason IS NULL
            QUALIFY row_number() OVER (PARTITION BY platform, event_id ORDER BY line, source_file) = 1""",
        f"""COPY events TO '{out}/events' (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (event_date),
            OVERWRITE_OR_IGNORE)""",
        f"""CREATE TEMP TABLE daily AS
            SELECT platform, profile_id, event_date AS day,
                   count(*) FILTER (event_type = 'post') AS posts,
                   count(*) FILTER (event_type = 'like' AND actor_id <> profile_id) AS likes,
                   count(*) FILTER (event_type = 'comment' AND actor_id <> profile_id) AS comments,
                   count(*) FILTER (event_type = 'share' AND actor_id <> profile_id) AS shares,
                   count(*) FILTER (event_type = 'save' AND actor_id <> profile_id) AS saves,
                   count(*) FILTER (event_type IN ('like', 'comment', 'share', 'save') AND actor_id <> profile_id)
                     AS interactions,
                   count(DISTINCT actor_id) FILTER (event_type IN ('like', 'comment', 'share', 'save')
                     AND actor_id <> profile_id) AS unique_engagers,
                   count(*) FILTER (event_type = 'comment' AND actor_id = profile_id) AS creator_replies,
                   count(*) FILTER (event_type = 'post' AND sponsored) AS sponsored_posts,
                   arg_min(followers, (event_time, event_id)) FILTER (event_type = 'profile_snapshot')
                     AS followers_first,
                   arg_max(followers, (event_time, event_id)) FILTER (event_type = 'profile_snapshot')
                     AS followers_last
            FROM events WHERE event_date BETWEEN DATE '{lo}' AND DATE '{hi}'
            GROUP BY ALL""",
        f"""COPY (SELECT * FROM daily) TO '{out}/engagement_daily'
            (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (day), OVERWRITE_OR_IGNORE)""",
        # trailing windows: every end day from a profile-day with events up to N-1 days later (capped at as_of)
        f"""CREATE TEMP TABLE ends AS
            SELECT DISTINCT d.platform, d.profile_id, w.n AS window_days,
                   CAST(d.day + CAST(k.i AS INTEGER) AS DATE) AS window_end
            FROM daily d, {SCRIPT_VALUES} w(n), range(28) k(i)
            WHERE k.i < w.n AND d.day + CAST(k.i AS INTEGER) <= DATE '{hi}'""",
        # exact distinct engagers: an (actor, day) covers the ends [day, day+N-1]; the part already covered
        # by the same actor's previous day is not counted again -> +1/-1 steps, running sum, ASOF lookup
        f"""CREATE TEMP TABLE engager_steps AS
            WITH g AS (
              SELECT platform, profile_id, w.n AS window_days, day,
                     lag(day) OVER (PARTITION BY platform, profile_id, w.n, actor_id ORDER BY day) AS prev
              FROM (SELECT DISTINCT platform, profile_id, event_date AS day, actor_id FROM events
                    WHERE event_type IN ('like', 'comment', 'share', 'save') AND actor_id <> profile_id
                      AND event_date BETWEEN DATE '{lo}' AND DATE '{hi}'), {SCRIPT_VALUES} w(n)
            ), steps AS (
              SELECT platform, profile_id, window_days, greatest(day, coalesce(prev + window_days, day)) AS day,
                     1 AS step FROM g
              UNION ALL
              SELECT platform, profile_id, window_days, day + window_days, -1 FROM g
            ), per_day AS (
              SELECT platform, profile_id, window_days, CAST(day AS DATE) AS day, sum(step) AS step
              FROM steps GROUP BY ALL
            )
            SELECT platform, profile_id, window_days, day,
                   sum(step) OVER (PARTITION BY platform, profile_id, window_days ORDER BY day) AS engagers
            FROM per_day""",
        f"""COPY (
            WITH grid AS (
              SELECT e.platform, e.profile_id, e.window_days, e.window_end, d.*  EXCLUDE (platform, profile_id, day)
              FROM ends e LEFT JOIN daily d ON d.platform = e.platform AND d.profile_id = e.profile_id
                AND d.day = e.window_end
            ), sums AS (
              {" UNION ALL ".join(_window_sums(n) for n in SCRIPT_WINDOWS)}
            )
            SELECT s.platform, s.profile_id, s.window_days, s.posts, s.likes, s.comments, s.shares, s.saves,
                   s.interactions, CAST(coalesce(u.engagers, 0) AS BIGINT) AS unique_engagers, s.creator_replies,
                   s.sponsored_posts, s.followers_first, s.followers_last, s.window_end
            FROM sums s ASOF LEFT JOIN engager_steps u ON u.platform = s.platform AND u.profile_id = s.profile_id
              AND u.window_days = s.window_days AND s.window_end >= u.day
           ) TO '{out}/engagement_trailing' (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (window_end),
             OVERWRITE_OR_IGNORE)""",
    ]


def _window_sums(n: int) -> str:
    """Sums and first/last followers over the N-day frame ending on each end day of the grid."""
    sums = ", ".join(
        f"CAST(sum({c}) OVER w AS BIGINT) AS {c}"
        for c in (
            "posts",
            "likes",
            "comments",
            "shares",
            "saves",
            "interactions",
            "creator_replies",
            "sponsored_posts",
        )
    )
    return f"""(SELECT platform, profile_id, window_days, window_end, {sums},
                     first(followers_first IGNORE NULLS) OVER w AS followers_first,
                     last(followers_last IGNORE NULLS) OVER w AS followers_last
              FROM grid WHERE window_days = {n}
              WINDOW w AS (PARTITION BY platform, profile_id ORDER BY window_end
                           RANGE BETWEEN INTERVAL {n - 1} DAYS PRECEDING AND CURRENT ROW))"""


def run_duckdb(
    files: list[str], out: Path, ingest_us: int, first_day: date, as_of: date, threads: int | None = None
) -> dict:
    import duckdb

    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    if threads:
        con.execute(f"SET threads={threads}")
    timings = {}
    for i, statement in enumerate(duckdb_sql(files, out, ingest_us, first_day, as_of)):
        clock = time.perf_counter()
        con.execute(statement)
        timings[f"{i:02d} {' '.join(statement.split()[:3])[:40]}"] = round(time.perf_counter() - clock, 3)
    stats = {
        "lines_read_nonblank": con.execute("SELECT count(*) FROM raw").fetchone()[0],
        "rejected": dict(
            con.execute(
                "SELECT reason, count(*) FROM checked WHERE reason IS NOT NULL GROUP BY 1 ORDER BY 1"
            ).fetchall()
        ),
        "accepted": con.execute("SELECT count(*) FROM events").fetchone()[0],
        "threads": con.execute("SELECT current_setting('threads')").fetchone()[0],
    }
    con.close()
    return {"stats": stats, "timings": timings}


def _child(argv: list[str]) -> None:
    """`python -m bench.throughput --child SPEC.json`: run one engine, write its result next to the spec."""
    spec = json.loads(Path(argv[0]).read_text())
    first_day, as_of = date.fromisoformat(spec["first_day"]), date.fromisoformat(spec["as_of"])
    profile = spec.get("cprofile")
    if profile:
        import cProfile

        prof = cProfile.Profile()
        prof.enable()
    if spec["engine"] == "beam":
        result = run_beam(
            Path(spec["landing"]),
            Path(spec["target"]),
            spec["beam_args"],
            spec["ingest_us"],
            first_day,
            as_of,
            spec["num_buckets"],
        )
    else:
        result = run_duckdb(
            spec["files"], Path(spec["target"]), spec["ingest_us"], first_day, as_of, spec.get("threads")
        )
    if profile:
        prof.disable()
        prof.dump_stats(profile)
    Path(spec["result"]).write_text(json.dumps(result, default=str))


# --------------------------------------------------------------------------- measuring a process tree


def _tree_rss_bytes(root: int, per_pid: dict | None = None) -> int:
    """Resident memory of `root` and all its descendants (from /proc); `per_pid` collects each
    process's peak."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
            ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        except (OSError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    total, todo, page = 0, [root], os.sysconf("SC_PAGE_SIZE")
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, []))
        try:
            with open(f"/proc/{pid}/statm") as f:
                rss = int(f.read().split()[1]) * page
            total += rss
            if per_pid is not None:
                per_pid[pid] = max(per_pid.get(pid, 0), rss)
        except (OSError, ValueError, IndexError):
            pass
    return total


SAMPLE_INTERVAL_S = 0.1  # each sample reads /proc: finer costs the engines CPU


def run_child(spec: dict, work: Path, name: str) -> dict:
    """Runs one engine in a child process; returns its result plus wall seconds and peak memory
    sampled from /proc: the sum over the process tree, and the largest single process."""
    spec_path = work / f"{name}.spec.json"
    spec["result"] = str(work / f"{name}.result.json")
    spec_path.write_text(json.dumps(spec))
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    clock = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.throughput", "--child", str(spec_path)],
        env=env,
        cwd=str(Path(__file__).resolve().parents[1]),
        stdout=open(work / f"{name}.log", "w"),
        stderr=subprocess.STDOUT,
    )
    peak = [0]
    per_pid: dict[int, int] = {}
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], _tree_rss_bytes(proc.pid, per_pid))
            done.wait(SAMPLE_INTERVAL_S)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, _ = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - clock
    done.set()
    sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        tail = (work / f"{name}.log").read_text()[-3000:]
        raise RuntimeError(f"{name} failed (exit {proc.returncode}); log {work / f'{name}.log'}:\n{tail}")
    result = json.loads(Path(spec["result"]).read_text())
    result.update(
        wall=wall,
        tree_peak_mb=peak[0] / 2**20,
        sampled_processes=len(per_pid),
        sampled_max_single_mb=max(per_pid.values(), default=0) / 2**20,
    )
    return result


# --------------------------------------------------------------------------- comparing outputs


def compare(beam_dir: Path, duck_dir: Path) -> dict:
    """Row-for-row comparison of both engines' outputs (EXCEPT ALL both ways)."""
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    metrics = (
        "posts, likes, comments, shares, saves, interactions, unique_engagers, creator_replies, "
        "sponsored_posts, followers_first, followers_last"
    )
    tables = {
        "engagement_daily": f"platform, profile_id, CAST(day AS DATE) AS day, {metrics}",
        "engagement_trailing": f"platform, profile_id, CAST(window_days AS INT) AS window_days, "
        f"CAST(window_end AS DATE) AS window_end, {metrics}",
        "events": "platform, event_id, event_type, event_time, profile_id, post_id, actor_id, followers, sponsored, "
        "CAST(event_date AS DATE) AS event_date",
    }
    out = {}
    for name, cols in tables.items():

        def view(root: Path, name: str = name, cols: str = cols) -> str:
            windows = f" WHERE window_days IN {SCRIPT_WINDOWS}" if name == "engagement_trailing" else ""
            return f"(SELECT {cols} FROM read_parquet('{root}/{name}/*/*.parquet', hive_partitioning=true){windows})"

        b, d = view(beam_dir), view(duck_dir)
        out[name] = {
            "beam_rows": con.execute(f"SELECT count(*) FROM {b}").fetchone()[0],
            "duckdb_rows": con.execute(f"SELECT count(*) FROM {d}").fetchone()[0],
            "only_beam": con.execute(f"SELECT count(*) FROM ({b} EXCEPT ALL {d})").fetchone()[0],
            "only_duckdb": con.execute(f"SELECT count(*) FROM ({d} EXCEPT ALL {b})").fetchone()[0],
        }
    rej_b = dict(
        con.execute(
            f"SELECT reason, count(*) FROM read_parquet('{beam_dir}/rejected/*/*.parquet') "
            "GROUP BY 1 ORDER BY 1"
        ).fetchall()
    )
    rej_d = dict(
        con.execute(
            f"SELECT reason, count(*) FROM read_parquet('{duck_dir}/rejected.parquet') GROUP BY 1 ORDER BY 1"
        ).fetchall()
    )
    out["rejected_by_reason"] = {"beam": rej_b, "duckdb": rej_d, "same": rej_b == rej_d}
    con.close()
    return out


# --------------------------------------------------------------------------- main


def _beam_args(workers: int) -> list[str]:
    if workers <= 1:
        return ["--runner=FnApiRunner"]
    return [
        "--runner=FnApiRunner",
        f"--direct_num_workers={workers}",
        "--direct_running_mode=multi_processing",
    ]


def bench_one(
    events: int,
    out: Path,
    workers_list: list[int],
    seed: int,
    duckdb_threads: list[int | None],
    cprofile: bool,
    keep: bool,
) -> list[dict]:
    root = out / f"n{events}"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    clock = time.perf_counter()
    gen = generate(root / "landing", events, seed=seed)
    size = sum(Path(f).stat().st_size for f in gen["files"])
    print(
        f"\n== {events:,} lines: generated in {time.perf_counter() - clock:.1f} s "
        f"({size / 2**20:.0f} MB on disk, {gen['duplicate_lines']:,} duplicate and {gen['malformed_lines']:,} "
        f"malformed lines, heavy profile {gen['heavy_profile_events'] / gen['unique_events']:.1%} of events) "
        f"in {root / 'landing'}",
        flush=True,
    )
    ingest_us = int(datetime.now(UTC).timestamp() * 1_000_000)
    common = {"ingest_us": ingest_us, "first_day": gen["first_day"], "as_of": gen["as_of_day"]}
    rows = []

    duck_results = []
    for threads in duckdb_threads:
        label = f"duckdb threads={threads or 'default'}"
        target = root / ("duckdb" if threads is None else f"duckdb-t{threads}")
        spec = {
            **common,
            "engine": "duckdb",
            "files": gen["files"],
            "target": str(target),
            "threads": threads,
        }
        res = run_child(spec, root, target.name)
        print(
            f"{label}: {res['wall']:.1f} s, accepted {res['stats']['accepted']:,}, rejected "
            f"{sum(res['stats']['rejected'].values()):,} (threads={res['stats']['threads']})",
            flush=True,
        )
        rows.append({"engine": label, "events": events, **res})
        duck_results.append((target, res))

    from pipelines.batch import buckets_for  # what the nightly flow picks for this much input

    for workers in workers_list:
        buckets = buckets_for(size, [f"--direct_num_workers={workers}"])
        label = f"beam FnApiRunner workers={workers}, {buckets} buckets"
        target = root / f"beam-w{workers}"
        spec = {
            **common,
            "engine": "beam",
            "landing": str(root / "landing"),
            "target": str(target),
            "beam_args": _beam_args(workers),
            "num_buckets": buckets,
            "cprofile": str(root / f"beam-w{workers}.prof") if cprofile and workers == 1 else None,
        }
        res = run_child(spec, root, target.name)
        print(
            f"{label}: {res['wall']:.1f} s, phases {', '.join(f'{k} {v:.1f} s' for k, v in res['timings'].items())}, "
            f"counts {res['stats']}",
            flush=True,
        )
        rows.append({"engine": label, "events": events, **res})
        cmp = compare(target, duck_results[0][0])
        diff = {k: v["only_beam"] + v["only_duckdb"] for k, v in cmp.items() if k != "rejected_by_reason"}
        agree = all(n == 0 for n in diff.values()) and cmp["rejected_by_reason"]["same"]
        print(
            f"{'AGREE' if agree else 'DISAGREE'}: {label} vs {duck_results[0][0].name}: "
            + "; ".join(
                f"{k} {v['beam_rows']:,} vs {v['duckdb_rows']:,} rows, {v['only_beam']} only in beam, "
                f"{v['only_duckdb']} only in duckdb"
                for k, v in cmp.items()
                if k != "rejected_by_reason"
            )
            + f"; rejected by reason {'same' if cmp['rejected_by_reason']['same'] else cmp['rejected_by_reason']}",
            flush=True,
        )
        rows[-1]["agree"] = agree
        if spec["cprofile"]:
            import pstats

            print(f"cProfile of the beam run (top 25 by own time), full profile in {spec['cprofile']}:")
            pstats.Stats(spec["cprofile"], stream=sys.stdout).sort_stats("tottime").print_stats(25)
    if not keep:
        shutil.rmtree(root / "landing", ignore_errors=True)
    return rows


def print_table(rows: list[dict]) -> None:
    # ru_maxrss is not shown: a child made by fork() starts with the parent's resident pages, so
    # it reports the benchmark's own memory (the generated data), not the engine's.
    print(
        "\n| engine | events | wall s | events/s | peak RSS MB (tree) | max process MB | × DuckDB time | agree |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for events in sorted({r["events"] for r in rows}):
        group = [r for r in rows if r["events"] == events]
        base = next(r["wall"] for r in group if r["engine"].startswith("duckdb"))
        for r in group:
            print(
                f"| {r['engine']} | {events:,} | {r['wall']:.1f} | {events / r['wall']:,.0f} | {r['tree_peak_mb']:,.0f} "
                f"| {r['sampled_max_single_mb']:,.0f} | {r['wall'] / base:.1f} | {r.get('agree', '')} |"
            )


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--child":
        return _child(argv[1:])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--events", type=int, action="append", help="input lines (repeatable); default 1000000"
    )
    parser.add_argument(
        "--workers",
        type=int,
        action="append",
        choices=[1, 2],
        help="Beam worker processes (repeatable); default 1",
    )
    parser.add_argument(
        "--duckdb-threads",
        type=int,
        action="append",
        help="also time DuckDB with this many threads (repeatable); the first DuckDB run "
        "(default threads) is the reference for comparisons",
    )
    parser.add_argument("--out", default="/tmp/bench")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--cprofile", action="store_true", help="cProfile the single-process Beam run")
    parser.add_argument("--keep-landing", action="store_true", help="keep the generated input files")
    args = parser.parse_args(argv)
    rows = []
    for events in args.events or [1_000_000]:
        rows += bench_one(
            events,
            Path(args.out),
            args.workers or [1],
            args.seed,
            [None] + list(args.duckdb_threads or []),
            args.cprofile,
            args.keep_landing,
        )
    print_table(rows)


if __name__ == "__main__":
    main()
