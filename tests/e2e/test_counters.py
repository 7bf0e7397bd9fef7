"""Counter bookings across nights (SPEC section 3) and the history horizon (SPEC section 5), end
to end: late and out-of-order observations re-book days the night's events never touch, and the
nights end equal to one full run, row for row."""

from __future__ import annotations

import json
import os
from datetime import date

import duckdb

from storage import sql_layer

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

from flows.nightly import nightly  # noqa: E402
from schemas.datasets import ENGAGEMENT_DAILY  # noqa: E402
from tests.e2e.helpers import assert_same_warehouse, dataset_rows  # noqa: E402

RUNNER = ["--runner=FnApiRunner"]


def ev(event_id, event_type, day, hour=10, profile="alice", **fields):
    return {
        "event_id": event_id,
        "event_type": event_type,
        "event_time": f"{day}T{hour:02d}:00:00Z",
        "platform": "x",
        "profile_id": profile,
        "schema_version": 2,
        **fields,
    }


NIGHT_1 = [
    ev("post-p1", "post", "2026-11-01", post_id="p1"),
    ev("post-p2", "post", "2026-11-02", post_id="p2"),
    ev("m1", "post_metrics", "2026-11-05", post_id="p1", likes=100, views=1000),
    ev("l1", "like", "2026-11-03", post_id="p1", actor_id="bob"),  # countered: bob engaged, no count
    ev("l2", "like", "2026-11-04", post_id="p2", actor_id="carol"),  # p2 has no counter yet: counts
    ev("l3", "like", "2026-11-06", post_id="p2"),  # unnamed liker
    ev("f1", "follow", "2026-11-06", actor_id="dave"),
    ev(
        "s1",
        "profile_snapshot",
        "2026-11-01",
        followers=12000,
        handle="@alice_old",
        display_name="Alice",
        country="PT",
    ),
    ev("post-b", "post", "2026-11-02", profile="bob", post_id="b1"),
    ev("mb1", "post_metrics", "2026-11-08", profile="bob", post_id="b1", comments=7),
]
NIGHT_2 = [
    ev(
        "m0", "post_metrics", "2026-11-03", post_id="p1", likes=60
    ),  # late and earlier: re-books 11-01 and 11-05
    ev("m2", "post_metrics", "2026-11-12", post_id="p1", likes=90, views=1500),  # likes withdrawn
    ev(
        "m3", "post_metrics", "2026-11-12", post_id="p2", likes=40
    ),  # p2's first counter: its events stop counting
    ev("l4", "like", "2026-11-11", post_id="p1", actor_id="erin"),
    ev("s2", "profile_snapshot", "2026-11-10", followers=12500, handle="@alice"),
    ev("mb2", "post_metrics", "2026-11-12", profile="bob", post_id="b1", comments=5),
]


def land(landing, name, events):
    landing.mkdir(parents=True, exist_ok=True)
    (landing / name).write_text("\n".join(json.dumps(e) for e in events) + "\n")


def daily_sums(wh):
    con = duckdb.connect()
    rows = con.execute(
        f"select profile_id, sum(likes), sum(comments), sum(views), sum(new_followers) "
        f"from read_parquet('{wh}/engagement_daily/*/*.parquet') group by all order by all"
    ).fetchall()
    con.close()
    return rows


def test_late_observations_rebook_across_nights_like_one_full_run(tmp_path):
    landing, wh = tmp_path / "landing", tmp_path / "wh"
    land(landing, "n1.jsonl", NIGHT_1)
    nightly(str(landing), str(wh), as_of=date(2026, 11, 8), beam_args=RUNNER)
    land(landing, "n2.jsonl", NIGHT_2)
    report = nightly(str(landing), str(wh), as_of=date(2026, 11, 12), beam_args=RUNNER)
    # 11-01 (p1's publish day), 11-02 (p2's), 11-04/11-06 (p2's like events) hold no new event, yet re-book
    assert {"2026-11-01", "2026-11-02", "2026-11-04", "2026-11-05", "2026-11-06"} <= set(
        report["touched_event_dates"]
    )

    full_landing, full_wh = tmp_path / "full-landing", tmp_path / "full-wh"
    land(full_landing, "n1.jsonl", NIGHT_1)
    land(full_landing, "n2.jsonl", NIGHT_2)
    nightly(str(full_landing), str(full_wh), as_of=date(2026, 11, 12), beam_args=RUNNER)
    assert_same_warehouse(wh, full_wh)

    # the invariant: per profile and kind, the last counters of countered posts + events of the others
    # alice: likes p1 last 90, p2 last 40 (its 2 like events no longer count); views 1500; bob: comments 5
    assert daily_sums(wh) == [("alice", 130, 0, 1500, 1), ("bob", 0, 5, 0, 0)]
    daily = {(r[1], r[-1].isoformat()): r for r in dataset_rows(wh, "engagement_daily")}
    names = [
        "platform",
        "profile_id",
        "posts",
        "likes",
        "comments",
        "shares",
        "saves",
        "views",
        "interactions",
        "unique_engagers",
    ]
    assert names == ENGAGEMENT_DAILY.columns[:10]
    likes, engagers = names.index("likes"), names.index("unique_engagers")
    assert daily[("alice", "2026-11-01")][likes] == 60  # the first observation, on the publish day
    assert daily[("alice", "2026-11-05")][likes] == 40
    assert daily[("alice", "2026-11-12")][likes] == -10  # p1: 100 -> 90
    assert daily[("alice", "2026-11-02")][likes] == 40  # p2's first counter, on its publish day
    assert daily[("alice", "2026-11-04")][likes] == 0 and daily[("alice", "2026-11-04")][engagers] == 1
    assert daily[("alice", "2026-11-05")][engagers] is None  # only counters that day

    # post_latest and profiles: one row per post / profile, views in the analyst database
    con = sql_layer.open_analyst_db(wh / "microradar.duckdb")  # views relative to the warehouse folder
    posts = {
        r[0]: r[1:]
        for r in con.execute(
            "select post_id, profile_id, cast(published_at as date), likes, comments, views, cast(observed_at as date), "
            "observations, platform from post_latest"
        ).fetchall()
    }
    profiles = {
        r[0]: r[1:]
        for r in con.execute(
            "select profile_id, handle, display_name, country, cast(first_seen as date), cast(last_seen as date) "
            "from profiles"
        ).fetchall()
    }
    con.close()
    assert posts["p1"] == ("alice", date(2026, 11, 1), 90, None, 1500, date(2026, 11, 12), 3, "x")
    assert posts["p2"][2] == 40 and posts["b1"][:4] == ("bob", date(2026, 11, 2), None, 5)
    assert profiles["alice"] == ("@alice", "Alice", "PT", date(2026, 11, 1), date(2026, 11, 12))
    assert profiles["bob"][3:] == (date(2026, 11, 2), date(2026, 11, 12))


def test_the_history_horizon_bounds_the_derived_days_not_the_events(tmp_path):
    landing, wh = tmp_path / "landing", tmp_path / "wh"
    land(
        landing,
        "old.jsonl",
        [
            ev("old-post", "post", "2011-03-04", post_id="p0"),
            ev("old-like", "like", "2012-05-06", post_id="p0", actor_id="bob"),
            ev("m", "post_metrics", "2026-11-10", post_id="p0", likes=70),  # publish day before the horizon
            ev("new-like", "like", "2026-11-09", post_id="p9", actor_id="bob"),
        ],
    )
    config = {"history_horizon_days": 30}
    nightly(str(landing), str(wh), as_of=date(2026, 11, 12), beam_args=RUNNER, config=config)
    horizon = "2026-10-14"  # 2026-11-12 - 29 days
    event_dates = {p.name for p in (wh / "events").iterdir()}
    # kept, filed under their year: no partition per day back to 2011
    assert event_dates == {
        "event_date=2011-01-01",
        "event_date=2012-01-01",
        "event_date=2026-11-09",
        "event_date=2026-11-10",
    }
    for dataset in ("engagement_daily", "engagement_trailing"):
        days = sorted(p.name.split("=")[1] for p in (wh / dataset).iterdir())
        assert days and days[0] >= horizon, (dataset, days[:3])
    daily = {r[-1].isoformat(): r for r in dataset_rows(wh, "engagement_daily")}
    assert daily[horizon][3] == 70  # the counter's first observation books on the horizon's first day


def test_events_before_the_horizon_are_filed_under_their_year_across_nights(tmp_path):
    """A late old event joins its year's partition; a more complete copy of a stored old event
    rewrites that partition with every other event in it kept; a day partition stored inside the
    horizon keeps its day once the horizon has passed it. The nights end equal to one run."""
    landing, wh, once = tmp_path / "landing", tmp_path / "wh", tmp_path / "once"
    config = {"history_horizon_days": 30}
    land(
        landing,
        "n1.jsonl",
        [
            ev("old-post", "post", "2011-03-04", post_id="p0"),
            ev("old-like", "like", "2011-05-06", post_id="p0", actor_id="bob"),
            ev("edge", "like", "2026-10-14", post_id="p0", actor_id="carol"),  # the horizon's first day
            ev("new-post", "post", "2026-11-09", post_id="p9"),
        ],
    )
    nightly(str(landing), str(wh), as_of=date(2026, 11, 12), beam_args=RUNNER, config=config)
    land(
        landing,
        "n2.jsonl",
        [
            ev("old-post", "post", "2011-03-04", post_id="p0", language="pt"),  # more complete: wins
            ev("late-old", "like", "2011-09-10", post_id="p0", actor_id="dave"),
            ev(
                "late-edge", "like", "2026-10-14", hour=11, post_id="p0", actor_id="erin"
            ),  # now before the horizon
            ev("new-like", "like", "2026-11-13", post_id="p9", actor_id="bob"),
        ],
    )
    nightly(str(landing), str(wh), as_of=date(2026, 11, 13), beam_args=RUNNER, config=config)
    events = {}
    for row in dataset_rows(wh, "events"):
        events.setdefault(row[-1].isoformat(), set()).add(row[1])
    assert events["2011-01-01"] == {"old-post", "old-like", "late-old"}
    assert events["2026-10-14"] == {"edge", "late-edge"}  # its partition was stored: the day stays
    assert sorted(events) == ["2011-01-01", "2026-10-14", "2026-11-09", "2026-11-13"]
    (language,) = [r for r in dataset_rows(wh, "events") if r[1] == "old-post"]
    assert "pt" in language
    nightly(str(landing), str(once), as_of=date(2026, 11, 13), beam_args=RUNNER, config=config)
    once_events = {r[1]: r[-1] for r in dataset_rows(once, "events")}
    assert once_events["late-edge"] == date(2026, 1, 1)  # one run: before its horizon, filed under 2026
    wh_rows = [r for r in dataset_rows(wh, "events") if r[1] not in ("edge", "late-edge")]
    assert wh_rows == [r for r in dataset_rows(once, "events") if r[1] not in ("edge", "late-edge")]
