"""Every entry below the landing directory is accounted for (SPEC section 2, issue #19 item 5): an
unknown file fails the run, named, unless ignored; ignored, hidden and skipped entries are listed in
the run report; a missing landing directory fails the run and moves nothing."""

from __future__ import annotations

import json
import os
from datetime import date

import pytest

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

from flows.nightly import nightly  # noqa: E402
from ingest.landing import LandingProblems, LandingUnreadable  # noqa: E402
from tests.conftest import event, line  # noqa: E402

RUNNER = ["--runner=FnApiRunner"]
AS_OF = date(2026, 11, 20)


def test_unknown_files_fail_unless_ignored_and_every_entry_is_reported(tmp_path):
    root, wh = tmp_path / "landing", tmp_path / "wh"
    (root / "2026-11-20" / "raw").mkdir(parents=True)
    (root / "2026-11-20" / "a.jsonl").write_bytes(line(event(event_time="2026-11-20T10:00:00Z")) + b"\n")
    (root / "2026-11-20" / "export.csv").write_text("profile,followers\nalice,12000\n")
    (root / "2026-11-20" / "raw" / "page-1.json").write_text("{}")
    (root / ".import-7.tmp").write_text("half an upload")
    os.mkfifo(root / "2026-11-20" / "pipe.jsonl")

    with pytest.raises(LandingProblems) as failed:
        nightly(str(root), str(wh), as_of=AS_OF, beam_args=RUNNER)
    for name in ("2026-11-20/export.csv", "2026-11-20/raw/page-1.json", "2026-11-20/pipe.jsonl: a FIFO"):
        assert name in str(failed.value)
    (report_path,) = (wh / "_meta" / "runs").glob("*.json")
    failed_report = json.loads(report_path.read_text())
    assert failed_report["status"] == "failed" and failed_report["phase"] == "landing"
    assert failed_report["landing_entries"]["unknown"] == [
        "2026-11-20/export.csv",
        "2026-11-20/raw/page-1.json",
    ]
    assert not (wh / "_meta" / "state.json").exists() and not (wh / "events").exists()

    config = {"ignored_landing_patterns": ["*.csv", "*/raw/*"], "skip_unreadable_landing": True}
    report = nightly(str(root), str(wh), as_of=AS_OF, beam_args=RUNNER, config=config)
    assert report["counts"]["accepted"] == 1
    assert report["landing_entries"] == {
        "contract_files": 1,
        "hidden": [".import-7.tmp"],
        "unknown": [],
        "ignored": ["2026-11-20/export.csv", "2026-11-20/raw/page-1.json"],
        "skipped_unreadable": ["2026-11-20/pipe.jsonl: a FIFO"],
    }
    state = (wh / "_meta" / "state.json").read_text()

    # A missing landing directory fails the run with the reason; as_of does not move.
    with pytest.raises(LandingUnreadable, match="cannot be read"):
        nightly(
            str(tmp_path / "unmounted"), str(wh), as_of=date(2026, 11, 21), beam_args=RUNNER, config=config
        )
    assert (wh / "_meta" / "state.json").read_text() == state
