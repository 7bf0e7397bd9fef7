"""A night hashes the landed files it has not seen as they are; a rewrite that keeps a file's size and
modification time is found with `rehash`."""

from __future__ import annotations

import os
import time
from datetime import UTC, date, datetime, timedelta

import pytest

from flows.landing_tasks import ChangedLandingFiles
from flows.nightly import nightly
from ingest import landing
from tests.conftest import event, line

pytestmark = pytest.mark.usefixtures("prefect_harness")

RUNNER = ["--runner=FnApiRunner"]
AS_OF = date(2026, 11, 21)


def test_only_files_not_seen_as_they_are_get_hashed(tmp_path, monkeypatch):
    root = tmp_path / "landing"
    an_hour_ago = time.time_ns() - 3600 * 10**9
    for day in ("2026-11-20", "2026-11-21"):
        path = root / day / "a.jsonl"
        path.parent.mkdir(parents=True)
        path.write_bytes(line(event(event_id=f"e-{day}", event_time=f"{day}T10:00:00Z")) + b"\n")
        os.utime(path, ns=(an_hour_ago, an_hour_ago))
    nightly(str(root), str(tmp_path / "wh"), as_of=AS_OF, beam_args=RUNNER)

    hashed = []
    real = landing.file_sha256
    monkeypatch.setattr(
        landing, "file_sha256", lambda p: hashed.append(os.path.basename(os.path.dirname(p))) or real(p)
    )
    new = root / "2026-11-22" / "a.jsonl"
    new.parent.mkdir()
    new.write_bytes(line(event(event_id="e-new", event_time="2026-11-21T11:00:00Z")) + b"\n")
    # The run starts within the racy interval of the write, however long Prefect takes to start it.
    just_after = datetime.fromtimestamp(new.stat().st_mtime, UTC) + timedelta(seconds=1)
    report = nightly(str(root), str(tmp_path / "wh"), as_of=AS_OF, beam_args=RUNNER, ingest_time=just_after)
    assert hashed == ["2026-11-22"] and report["files"]["new"] == 1

    # The same size and modification time after a rewrite: only a full rehash notices.
    victim = root / "2026-11-20" / "a.jsonl"
    victim.write_bytes(victim.read_bytes().replace(b"e-2026", b"x-2026"))
    os.utime(victim, ns=(an_hour_ago, an_hour_ago))
    hashed.clear()
    assert nightly(str(root), str(tmp_path / "wh"), as_of=AS_OF, beam_args=RUNNER)["files"]["new"] == 0
    assert hashed == ["2026-11-22"]  # written just before the run that read it: its time proves nothing
    hashed.clear()
    with pytest.raises(ChangedLandingFiles, match="2026-11-20/a.jsonl"):
        nightly(str(root), str(tmp_path / "wh"), as_of=AS_OF, beam_args=RUNNER, rehash=True)
    assert len(hashed) == 3

    # Any other rewrite changes the modification time, and is refused without a rehash.
    victim.write_bytes(victim.read_bytes() + b"\n")
    with pytest.raises(ChangedLandingFiles, match="2026-11-20/a.jsonl"):
        nightly(str(root), str(tmp_path / "wh"), as_of=AS_OF, beam_args=RUNNER)
