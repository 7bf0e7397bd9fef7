"""The report's queries and formatting on small fixture tables: rows in, figures out."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa
import pytest

from report import data as report_data
from report import formats, render
from schemas.datasets import EVENTS, REJECTED
from storage import sql_layer

DAY = date(2026, 11, 30)
START = DAY - timedelta(days=59)


def _profile_rows() -> list[dict]:
    """60 days of profile_daily for a few profiles, with the columns the report reads."""

    def row(profile, i, followers, tier, **extra):
        return {
            "platform": "instagram",
            "profile_id": profile,
            "day": START + timedelta(days=i),
            "followers": followers,
            "tier": tier,
            "is_rising": False,
            "is_suspicious": False,
            "rising_score": None,
            "rising_rank": None,
            "followers_28d_ago": None,
            "follower_growth_pct_28d": None,
            "engagement_rate_28d": None,
            "posts_per_week_28d": None,
            "rising_reasons": [],
            **extra,
        }

    rows = []
    for i in range(60):
        today = i == 59
        # riser: nano -> micro 10 days before DAY, rising on DAY with the best score
        f = 8_000 + 100 * i
        rows.append(
            row(
                "riser",
                i,
                f,
                "micro" if f >= 10_000 else "nano",
                is_rising=today,
                rising_score=91.5 if today else None,
                rising_rank=1 if today else None,
                followers_28d_ago=8_000 + 100 * 31,
                follower_growth_pct_28d=0.2484,
                engagement_rate_28d=0.0412,
                posts_per_week_28d=3.25,
                rising_reasons=["followers +25% in 28 days (11,100 -> 13,900)"] if today else [],
            )
        )
        # second: rising, lower score; followers unknown for its first 20 days
        rows.append(
            row(
                "second",
                i,
                None if i < 20 else 20_000 + 50 * i,
                None if i < 20 else "micro",
                is_rising=today,
                rising_score=70.0 if today else None,
                rising_rank=2 if today else None,
                rising_reasons=["posting 2.0 times a week"] if today else [],
            )
        )
        # wobbler: crosses 10,000 back and forth, ends where it was four weeks earlier: no net move
        f = 10_000 + (50 if i % 2 else -50)
        rows.append(row("wobbler", i, f, "micro" if f >= 10_000 else "nano"))
        # faller: micro -> nano
        f = 12_000 - 40 * i
        rows.append(row("faller", i, f, "micro" if f >= 10_000 else "nano"))
        # stale: no tier any more (no fresh count)
        rows.append(row("stale", i, None if i > 40 else 30_000, None if i > 40 else "micro"))
    return rows


@pytest.fixture()
def con():
    con = sql_layer.connect()
    con.register("pd_rows", pa.Table.from_pylist(_profile_rows()))
    con.execute("create table profile_daily as select * from pd_rows")
    daily = [
        {
            "platform": "instagram",
            "profile_id": "riser",
            "day": START + timedelta(days=i),
            "interactions": 10 * i,
        }
        for i in range(0, 60, 2)
    ]  # every other day: the days between had no event
    con.register("ed_rows", pa.Table.from_pylist(daily))
    con.execute("create table engagement_daily as select * from ed_rows")
    con.execute(f"create table events as select * from ({sql_layer.empty_view_sql(EVENTS)})")
    con.execute(
        "insert into events (platform, event_id, event_type, event_time, profile_id, event_date) "
        "values ('instagram', 'e1', 'post', '2026-11-28 10:00:00+00', 'riser', date '2026-11-28')"
    )
    con.execute(f"create table rejected as select * from ({sql_layer.empty_view_sql(REJECTED)})")
    for run_id, reason, n in (
        ("run-a", "invalid_json", 2),
        ("run-b", "invalid_json", 1),
        ("run-b", "future_event", 3),
    ):
        for k in range(n):
            con.execute(
                "insert into rejected (source_file, source_line, reason, run_id, ingest_date) "
                "values ('f.jsonl', ?, ?, ?, date '2026-11-30')",
                [k, reason, run_id],
            )
    yield con
    con.close()


def gathered(con, **kwargs):
    return report_data.gather_from(con, Path("/wh"), {"run_id": "run-b"}, **kwargs)


def test_default_day_is_the_latest_and_top_rising_best_first(con):
    data = gathered(con)
    assert data.day == DAY
    assert [r["profile_id"] for r in data.top] == ["riser", "second"]
    assert data.top[0]["rising_score"] == 91.5
    assert data.overview == {
        "profiles_tracked": 5,
        "micro_profiles": 3,
        "rising_profiles": 2,
        "suspicious_profiles": 0,
    }
    assert [r["profile_id"] for r in gathered(con, limit=1).top] == ["riser"]


def test_growth_series_covers_the_weeks_with_unknown_followers_kept_unknown(con):
    data = gathered(con, weeks=8)
    riser = data.series[("instagram", "riser")]
    assert len(riser) == 56 and riser[0]["day"] == DAY - timedelta(days=55) and riser[-1]["day"] == DAY
    by_day = {r["day"]: r["interactions"] for r in riser}
    assert by_day[START + timedelta(days=58)] == 580  # a day with events
    assert by_day[START + timedelta(days=59)] == 0  # a day without: no interaction
    second = data.series[("instagram", "second")]
    assert second[0]["followers"] is None and second[-1]["followers"] == 20_000 + 50 * 59


def test_tier_movements_are_net_moves_over_four_weeks(con):
    data = gathered(con)
    assert data.movement_since == DAY - timedelta(days=28)
    moves = {r["profile_id"]: (r["from_tier"], r["to_tier"], r["direction"]) for r in data.movements}
    # riser crossed 10,000 on day 20 (before the 4 weeks: 8,000 + 100 * 31 = 11,100 at their start): no move;
    # the wobbler ends on its starting side; stale has no tier now
    assert moves == {"faller": ("micro", "nano", "down")}
    assert data.movement_counts == [
        {"from_tier": "micro", "to_tier": "nano", "direction": "down", "profiles": 1}
    ]


def test_tier_mix_freshness_and_rejects(con):
    data = gathered(con)
    assert {r["tier"]: r["profiles"] for r in data.tier_mix} == {"micro": 3, "nano": 1, "unknown": 1}
    assert data.freshness == {"latest_event_day": date(2026, 11, 28), "report_day": DAY, "days_behind": 2}
    assert data.rejects == [
        {"reason": "future_event", "last_run": 3, "all_time": 3},
        {"reason": "invalid_json", "last_run": 1, "all_time": 3},
    ]


def test_a_day_outside_profile_daily_is_refused(con):
    with pytest.raises(report_data.NoDataForDay, match="2026-12-05"):
        gathered(con, day=date(2026, 12, 5))
    assert gathered(con, day=DAY - timedelta(days=3)).day == DAY - timedelta(days=3)


def test_queries_shown_are_the_queries_run(con):
    data = gathered(con)
    names = [q.name for q in data.queries]
    assert names == [
        "latest_day",
        "overview",
        "top_rising",
        "growth_series",
        "tier_movements",
        "tier_movement_counts",
        "tier_mix",
        "freshness",
        "rejects_by_reason",
    ]
    assert set(names) == set(report_data.QUERIES)
    top = next(q for q in data.queries if q.name == "top_rising")
    assert "where day = DATE '2026-11-30' and is_rising" in top.sql and "limit 10" in top.sql
    assert "$" not in "".join(q.sql for q in data.queries)
    rows = con.execute(top.sql).fetchall()  # the text shown runs as it is
    assert [r[1] for r in rows] == ["riser", "second"]


def test_sql_literals():
    assert report_data.sql_literal(date(2026, 1, 2)) == "DATE '2026-01-02'"
    assert report_data.sql_literal("it's") == "'it''s'"
    assert report_data.sql_literal(None) == "NULL"
    assert report_data.sql_literal(7) == "7"


@pytest.mark.parametrize(
    "fn, value, text",
    [
        (formats.fmt_int, 12_300, "12,300"),
        (formats.fmt_int, 12_400, "12,400"),
        (formats.fmt_int, 0, "0"),
        (formats.fmt_int, None, "—"),
        (formats.fmt_change, 0.18, "+18%"),
        (formats.fmt_change, -0.052, "-5%"),
        (formats.fmt_change, None, "—"),
        (formats.fmt_rate, 0.0412, "4.1%"),
        (formats.fmt_rate, None, "—"),
        (formats.fmt_decimal, 91.54, "91.5"),
        (formats.fmt_decimal, None, "—"),
        (formats.fmt_compact, 1_200_000, "1.2M"),
        (formats.fmt_compact, 12_400, "12.4k"),
        (formats.fmt_compact, 2_000, "2k"),
        (formats.fmt_compact, 950, "950"),
        (formats.fmt_seconds, 23.566, "23.6 s"),
        (formats.fmt_seconds, 125, "2 min 05 s"),
        (formats.fmt_day, date(2026, 12, 1), "1 Dec 2026"),
        (formats.fmt_day, None, "—"),
        (formats.fmt_moment, "2026-12-02T02:51:02.437808+00:00", "2 Dec 2026, 02:51 UTC"),
        (
            formats.fmt_reason,
            "followers +66% in 28 days (11,085 -> 18,448), 29.4x the micro median",
            "followers +66% in 28 days (11,085 → 18,448), 29.4× the micro median",
        ),
        (formats.fmt_reject, "invalid_json", "the line is not a JSON object"),
    ],
)
def test_numbers_for_people(fn, value, text):
    assert fn(value) == text


@pytest.mark.parametrize(
    "count, ratio, rate", [(12_300, 0.18, 0.0412), (950, -0.052, 0.3), (1_048_576, 9.5, 0)]
)
def test_the_page_writes_numbers_as_the_sql_reasons_do(count, ratio, rate):
    """The format specifiers of sql/marts/profile_daily.sql's reasons, run by DuckDB, agree with the
    page's formatter: the reasons and the figures beside them read alike. (Changes of 1,000% and
    more part: the SQL writes +1000%, the page +1,000%.)"""
    con = sql_layer.connect()
    followers, change, engagement = con.execute(
        "select format('{:,}', $1::bigint), format('{:+d}%', cast(round(100 * $2) as integer)),"
        " format('{:.1f}%', 100 * $3::double)",
        [count, ratio, rate],
    ).fetchone()
    assert (followers, change, engagement) == (
        formats.fmt_int(count),
        formats.fmt_change(ratio),
        formats.fmt_rate(rate),
    )


def test_page_is_self_contained_deterministic_and_ids_unique(con):
    run = {
        "run_id": "run-b",
        "as_of": "2026-11-30",
        "started_at": "2026-12-01T02:00:00+00:00",
        "files": {"new": 3, "already_ingested": 10},
        "counts": {
            "lines_read": 100,
            "accepted": 90,
            "duplicates": 4,
            "conflicting_duplicates": 1,
            "rejected": 4,
            "blank": 2,
            "identity_holds": True,
        },
        "durations_s": {"sql": 2.0, "ingest": 10.0, "plan": 0.5, "total": 13.0},
    }
    data = report_data.gather_from(con, Path("/wh"), run)
    page = render.render(data)
    assert page == render.render(report_data.gather_from(con, Path("/wh"), run))
    # nothing to fetch: no script, stylesheet, image, font or frame from anywhere
    assert not re.search(r"<(script|link|img|iframe|object|embed)\b", page)
    assert "@import" not in page and "url(http" not in page
    ids = re.findall(r'\sid="([^"]+)"', page)
    assert len(ids) == len(set(ids))
    assert page.count('class="chart"') == len(data.top) + 1  # a growth chart per profile, the tier mix
    assert "—" in page  # riser's unknowns are shown as unknown, not 0
    steps = re.findall(r"<tr><td>(\w+)</td><td class=\"num\">", page)
    assert steps[:3] == ["plan", "ingest", "sql"]


def test_page_without_a_run_report_or_a_day(tmp_path):
    con = sql_layer.connect()
    for name in ("profile_daily", "engagement_daily", "events", "rejected"):
        from schemas.datasets import ALL_DATASETS

        by_name = {d.name: d for d in ALL_DATASETS}
        con.execute(f"create view {name} as {sql_layer.empty_view_sql(by_name[name])}")
    page = render.render(report_data.gather_from(con, tmp_path, None))
    assert "No profiles computed yet" in page and 'data-testid="no-run"' in page


def test_queries_follow_the_sql_style():
    """The repository's .sqlfluff on each query as it runs (its $parameters filled in)."""
    from sqlfluff.core import FluffConfig, Linter

    linter = Linter(config=FluffConfig.from_path(str(Path(__file__).parents[2])))
    params = {"day": DAY, "since": DAY - timedelta(days=28), "limit": 10, "run_id": "run-b"}
    problems = [
        (name, v.line_no, v.rule_code(), v.desc())
        for name in report_data.QUERIES
        for v in linter.lint_string(report_data.render_sql(name, params) + "\n").get_violations()
    ]
    assert problems == []
