"""Contract v2 end to end: v2 lines arrive in `events` with their new columns, poison lines (year
0001, 1900, NUL in an id, oversized values) are rejected at parse and the night completes, and a
more complete copy delivered on a later night replaces the stored one."""

from __future__ import annotations

import json
from datetime import date

import duckdb
import pytest

from flows.nightly import nightly

pytestmark = pytest.mark.usefixtures("prefect_harness")

RUNNER = ["--runner=FnApiRunner"]
AS_OF = date(2026, 11, 25)


def ev(event_id, event_type, **fields):
    base = {
        "event_id": event_id,
        "event_type": event_type,
        "event_time": "2026-11-20T10:00:00Z",
        "platform": "youtube",
        "profile_id": "chan1",
        "schema_version": 2,
    }
    return base | fields


def land(path, objs):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join((o if isinstance(o, str) else json.dumps(o)) + "\n" for o in objs))


def events_rows(wh):
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    rows = con.execute(
        f"select event_id, event_type, actor_id, likes, views, followers_precision, handle, language, source_file "
        f"from read_parquet('{wh}/events/*/*.parquet', union_by_name = true) order by event_id"
    ).fetchall()
    con.close()
    return {r[0]: r[1:] for r in rows}


def test_v2_lines_arrive_and_poison_lines_are_rejected_at_parse(tmp_path):
    landing, wh = tmp_path / "landing", tmp_path / "wh"
    land(
        landing / "d1" / "a.jsonl",
        [
            ev("m1", "post_metrics", post_id="v1", likes=1200, views=45000),
            ev("f1", "follow", actor_id="fan"),
            ev("l1", "like", post_id="v1"),  # no actor
            ev(
                "s1",
                "profile_snapshot",
                followers=123000,
                followers_precision=1000,
                handle="@chan",
                country="US",
            ),
            ev("p1", "post", post_id="v1", language="en"),
            ev("dup", "like", post_id="v1"),  # sparse copy: replaced on night 2
            ev("old1", "like", post_id="v1", event_time="0001-01-01T00:00:00Z"),
            ev("old2", "like", post_id="v1", event_time="1900-01-01T00:00:00+01:00"),
            ev("nul\u0000", "like", post_id="v1"),
            ev("big", "post", post_id="v2", hashtags=["x" * 70000]),
            ev("m0", "post_metrics", post_id="v1"),  # no counter
            "",
        ],
    )
    first = nightly(str(landing), str(wh), as_of=AS_OF, beam_args=RUNNER)
    c = first["counts"]
    assert c["identity_holds"] and (c["lines_read"], c["accepted"], c["blank"]) == (12, 6, 1), c
    assert c["rejected_by_reason"] == {
        "too_old_event": 2,
        "invalid_value": 1,
        "oversized_field": 1,
        "missing_field": 1,
    }
    rows = events_rows(wh)
    assert rows["m1"][:4] == ("post_metrics", None, 1200, 45000)
    assert rows["f1"][:2] == ("follow", "fan")
    assert rows["l1"][:2] == ("like", None)
    assert rows["s1"][4:6] == (1000, "@chan")
    assert rows["p1"][6] == "en"

    land(landing / "d2" / "b.jsonl", [ev("dup", "like", post_id="v1", actor_id="bob")])  # more complete
    second = nightly(str(landing), str(wh), as_of=AS_OF, beam_args=RUNNER)
    c = second["counts"]
    assert (c["lines_read"], c["accepted"], c["duplicates"], c["conflicting_duplicates"]) == (1, 0, 1, 1), c
    rows = events_rows(wh)
    assert rows["dup"][1] == "bob" and rows["dup"][-1] == "d2/b.jsonl"
    assert len(rows) == 6
