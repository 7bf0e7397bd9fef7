"""Bring your own data, end to end as a user runs it: `microradar import` for every source into one
landing directory, `microradar nightly` over it, then the same imports again change nothing."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import duckdb
import pytest

from tests.e2e.test_cli import microradar, state_of
from tests.prefect_server import cli_env

FIXTURES = Path(__file__).resolve().parents[1] / "importers" / "fixtures"
sys.path.insert(0, str(FIXTURES.parent))
from test_import_run import CASES  # noqa: E402  (the importers' own fixture cases)

AS_OF = "2024-03-10"  # after every fixture's times
PLATFORM = {"x-api": "x", "youtube-api": "youtube", "bluesky": "bluesky", "csv": "youtube"}


def import_all(landing: Path) -> dict[str, dict]:
    summaries = {}
    for source, (files, opts) in sorted(CASES.items()):
        args = ["import", source, "--out", landing, "--json"]
        for key, value in opts.items():
            for item in value if isinstance(value, list) else [value]:
                args += [f"--{key.replace('_', '-')}", item]
        summaries[source] = json.loads(microradar(*args, *[FIXTURES / f for f in files]).stdout)
    return summaries


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    root = tmp_path_factory.mktemp("byod")
    summaries = import_all(root / "landing")
    microradar(
        "nightly", "--landing", root / "landing", "--warehouse", root / "wh", "--as-of", AS_OF, env=cli_env()
    )
    return root, summaries, json.loads((root / "wh" / "_meta" / "last_run.json").read_text())


def query(warehouse: Path, sql: str) -> list[tuple]:
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    try:
        con.execute(
            f"create view events as select * from read_parquet('{warehouse}/events/*/*.parquet', "
            "hive_partitioning = true, union_by_name = true)"
        )
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_every_imported_line_is_accepted(imported):
    _, summaries, report = imported
    written = sum(s["events_written"] for s in summaries.values())
    counts = report["counts"]
    assert counts["lines_read"] == written and counts["rejected"] == 0, counts
    assert counts["accepted"] + counts["duplicates"] == written


def test_posts_counters_and_followers_arrive_per_platform(imported):
    root, summaries, _ = imported
    got = dict(query(root / "wh", "select platform || '/' || event_type, count(*) from events group by all"))
    for source, summary in summaries.items():
        platform = PLATFORM[source]
        for event_type in ("post", "post_metrics", "profile_snapshot"):
            if summary["events"].get(event_type):
                assert got.get(f"{platform}/{event_type}", 0) > 0, (source, event_type, got)
    # A YouTube channel's rounded follower count keeps its precision (3 significant figures).
    precisions = query(
        root / "wh",
        "select followers, followers_precision from events "
        "where platform = 'youtube' and event_type = 'profile_snapshot' "
        "and followers_precision is not null",
    )
    assert {(123000, 1000), (999, 1)} <= set(precisions), precisions


def test_importing_the_same_exports_again_changes_nothing(imported):
    root, summaries, _ = imported
    landed = sorted(p.name for p in (root / "landing").iterdir())
    before = state_of(root / "wh")
    again = import_all(root / "landing")
    assert sorted(p.name for p in (root / "landing").iterdir()) == landed
    assert {s: a["events"] for s, a in again.items()} == {s: a["events"] for s, a in summaries.items()}
    result = microradar(
        "nightly", "--landing", root / "landing", "--warehouse", root / "wh", "--as-of", AS_OF, env=cli_env()
    )
    assert "nothing to do" in result.stdout or "0 new" in result.stdout, result.stdout
    assert state_of(root / "wh") == before


INVARIANT = """
with observed as (
    select platform, profile_id, post_id, {kind} as value,
           row_number() over (partition by platform, profile_id, post_id order by event_time desc, event_id desc) as nth
    from events where event_type = 'post_metrics' and {kind} is not null
),
last_counters as (select platform, profile_id, post_id, value from observed where nth = 1),
counted_events as (
    select platform, profile_id, post_id, count(*) as value from events
    where event_type = '{event_type}' and actor_id is distinct from profile_id
    group by all
),
expected as (
    select platform, profile_id, value from last_counters
    union all
    select platform, profile_id, value from counted_events anti join last_counters using (platform, profile_id, post_id)
)
select platform, profile_id, sum(value) as total from expected group by all having sum(value) != 0 order by all
"""


@pytest.mark.parametrize(
    "kind, event_type", [("likes", "like"), ("comments", "comment"), ("shares", "share")]
)
def test_engagement_adds_up_to_the_last_counters_plus_the_events_of_posts_without_counters(
    imported, kind, event_type
):
    """Contract v2's invariant on real-shaped exports: per profile and kind, the sum of engagement_daily
    over all days = the last observed counter of each post + the events of posts without counters."""
    root, _, _ = imported
    expected = query(root / "wh", INVARIANT.format(kind=kind, event_type=event_type))
    con = duckdb.connect()
    try:
        booked = con.execute(
            f"select platform, profile_id, sum({kind}) as total "
            f"from read_parquet('{root / 'wh'}/engagement_daily/*/*.parquet') "
            f"group by all having sum({kind}) != 0 order by all"
        ).fetchall()
    finally:
        con.close()
    assert expected, f"the fixtures hold no {kind}"
    assert booked == expected
