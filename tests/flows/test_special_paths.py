"""A warehouse below a folder whose name holds `[`, `*` or `?` is written and read like any other
(issue #19 item 6): no path is ever used as a glob pattern (Beam's delete, DuckDB's read_parquet)."""

from __future__ import annotations

import os
from datetime import date

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

from flows.nightly import nightly  # noqa: E402
from storage import sql_layer  # noqa: E402
from tests.conftest import event, line  # noqa: E402

RUNNER = ["--runner=FnApiRunner"]


def test_a_warehouse_path_with_glob_characters_is_written_and_read(tmp_path):
    root = tmp_path / "nights[1]*?"
    landing, wh = root / "landing", root / "wh[a-z]"
    day1 = [
        event(event_id=f"p{i}", event_type="post", post_id=f"p{i}", event_time="2026-11-19T10:00:00Z")
        for i in range(3)
    ]
    day1 += [
        event(event_id=f"l{i}", post_id="p0", actor_id=f"fan{i}", event_time="2026-11-19T11:00:00Z")
        for i in range(4)
    ]
    (landing / "a").mkdir(parents=True)
    (landing / "a" / "one.jsonl").write_bytes(b"\n".join(line(e) for e in day1) + b"\n")
    first = nightly(str(landing), str(wh), as_of=date(2026, 11, 19), beam_args=RUNNER)
    assert first["counts"]["accepted"] == 7
    # Night 2: a late copy of a stored event (the key lookup reads stored files) and a new day
    # (the windows read the stored day's engagers).
    day2 = [
        event(event_id="l0", post_id="p0", actor_id="fan0", event_time="2026-11-19T11:00:00Z"),
        event(event_id="l9", post_id="p1", actor_id="fan9", event_time="2026-11-20T09:00:00Z"),
    ]
    (landing / "b").mkdir()
    (landing / "b" / "two.jsonl").write_bytes(b"\n".join(line(e) for e in day2) + b"\n")
    second = nightly(str(landing), str(wh), as_of=date(2026, 11, 20), beam_args=RUNNER)
    assert (second["counts"]["accepted"], second["counts"]["duplicates"]) == (1, 1)
    assert not (wh / "_staging").exists() or not any((wh / "_staging").iterdir())
    con = sql_layer.open_analyst_db(wh / "microradar.duckdb")  # views relative to the warehouse folder
    try:
        assert con.execute("select count(*) from events").fetchone() == (8,)
        assert con.execute("select count(*) from engagement_daily").fetchone()[0] > 0
        assert con.execute("select count(*) from profile_daily").fetchone()[0] > 0
    finally:
        con.close()
