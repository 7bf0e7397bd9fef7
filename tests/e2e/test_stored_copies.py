"""A later night delivers copies of stored events: the key lookup settles which copy is kept, the
night rewrites only the dates where a new copy replaces a stored one, adds to the others, and the
warehouse equals one full run over everything. A date a night only adds to keeps one file: the
night's compaction merges its new events into the stored file (storage.compaction)."""

from __future__ import annotations

from datetime import date

import pytest

from flows.nightly import nightly
from ingest.parse import parse_line
from ingest.tables import events_table
from tests.conftest import INGEST_US, event, line
from tests.e2e.helpers import assert_same_warehouse

pytestmark = pytest.mark.usefixtures("prefect_harness")

RUNNER = ["--runner=FnApiRunner"]
NIGHT1, NIGHT2, NIGHT3 = "2026-11-20/a.jsonl", "2026-11-21/b.jsonl", "2026-11-22/c.jsonl"  # in landing order


def payload_hash(obj: dict) -> str:
    return events_table([parse_line(line(obj), INGEST_US)], "x", [1])["payload_hash"][0].as_py()


def variant(obj: dict, wins: bool, day: str) -> dict:
    """A conflicting copy of `obj` (its time moved to `day`) whose payload hash sorts before the
    stored copy's (`wins`) or after it: the smaller hash is the copy kept (ingest.dedup)."""
    for second in range(60):
        copy = dict(obj, event_time=f"{day}T11:00:{second:02d}Z")
        if (payload_hash(copy) < payload_hash(obj)) == wins:
            return copy
    raise AssertionError("no variant found")


def likes(event_id: str, day: str, actor: str = "bob") -> dict:
    return event("like", event_id=event_id, event_time=f"{day}T10:00:00Z", actor_id=actor)


FIRST = [
    event("post", event_id="post1", event_time="2026-11-16T09:00:00Z"),
    event("profile_snapshot", event_id="snap1", event_time="2026-11-16T09:00:00Z", followers=12_000),
    likes("kept-old", "2026-11-19"),  # delivered again byte for byte: the stored copy stays
    likes("replaced", "2026-11-19", "carol"),  # a conflicting copy that sorts first replaces it
    likes("stays", "2026-11-18", "dave"),  # a conflicting copy that sorts later changes nothing
    likes("neighbour", "2026-11-17", "erin"),
]
SECOND = [
    FIRST[2],
    variant(FIRST[3], wins=True, day="2026-11-20"),
    variant(FIRST[4], wins=False, day="2026-11-18"),
    likes("late", "2026-11-17", "frank"),  # a late new event: its date is only added to
    likes("today", "2026-11-21", "gina"),
]
THIRD = [likes("later", "2026-11-17", "hugo"), likes("tomorrow", "2026-11-22", "gina")]
ADDED_TO = "event_date=2026-11-17"  # a late event in the second night and again in the third


def land(path, objs):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\n".join(line(o) for o in objs) + b"\n")


def names(root, partition: str) -> set[str]:
    return {p.name for p in (root / "nights" / "events" / partition).glob("*.parquet")}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("copies")
    land(root / "landing" / NIGHT1, FIRST)
    first = nightly(str(root / "landing"), str(root / "nights"), as_of=date(2026, 11, 20), beam_args=RUNNER)
    before = names(root, ADDED_TO)
    land(root / "landing" / NIGHT2, SECOND)
    second = nightly(str(root / "landing"), str(root / "nights"), as_of=date(2026, 11, 21), beam_args=RUNNER)
    after = names(root, ADDED_TO)
    land(root / "landing" / NIGHT3, THIRD)
    third = nightly(str(root / "landing"), str(root / "nights"), as_of=date(2026, 11, 22), beam_args=RUNNER)
    full = nightly(str(root / "landing"), str(root / "full"), as_of=date(2026, 11, 22), beam_args=RUNNER)
    return root, first, second, third, full, (before, after, names(root, ADDED_TO))


def test_the_nights_equal_one_full_run(runs):
    root, *_ = runs
    assert_same_warehouse(root / "nights", root / "full")


def test_only_dates_where_a_new_copy_replaces_a_stored_one_are_rewritten(runs):
    _, _, second, _, _, (before, after, _) = runs
    assert second["event_dates_rewritten"] == ["2026-11-19", "2026-11-20"]
    # The late event's date is added to; the copy that lost touches nothing.
    assert second["touched_event_dates"] == ["2026-11-17", "2026-11-19", "2026-11-20", "2026-11-21"]
    # The stored file and the night's new events merged into one file of the night.
    assert len(before) == len(after) == 1 and before != after


def test_a_date_only_added_to_keeps_one_file(runs):
    _, _, _, third, _, (_, after, added) = runs
    assert third["touched_event_dates"] == ["2026-11-17", "2026-11-22"]
    assert third["event_dates_rewritten"] == []  # not deduplicated again: its stored events are context
    assert len(added) == 1 and added != after


def test_every_copy_is_accounted_for(runs):
    _, first, second, third, full, _ = runs
    c = second["counts"]
    assert (c["accepted"], c["duplicates"], c["conflicting_duplicates"]) == (2, 3, 2), c
    assert c["identity_holds"]
    # the same copies as one run over every file, which saw them all at once
    every = full["counts"]
    assert sum(r["counts"]["accepted"] for r in (first, second, third)) == every["accepted"]
    assert (
        c["duplicates"] == every["duplicates"]
        and c["conflicting_duplicates"] == every["conflicting_duplicates"]
    )
