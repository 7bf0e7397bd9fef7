"""The soak (issue #19): 30 simulated nights through the CLI, with late files (a day's file landing
nights later), duplicate files (an earlier file again under a new name) and poisoned files (bad
JSON, a year-0001 event, a NUL in an id, a cut .gz), each night checked readable; the final
warehouse equals one run over everything. About 8 minutes on 2 cores (30 nights, 492 s on
2026-12-02), too long for `make test`: it runs only with MICRORADAR_SOAK=1
(MICRORADAR_SOAK_NIGHTS sets another length, at least 28: one full growth window)."""

from __future__ import annotations

import gzip
import os
import shutil
from datetime import date, timedelta

import pytest

from tests.e2e.helpers import assert_same_warehouse, nightly
from tests.faults.test_fault_points import analyst_counts, assert_readable
from tools.generator import generate_landing

pytestmark = [
    pytest.mark.soak,
    pytest.mark.skipif(
        os.environ.get("MICRORADAR_SOAK") != "1", reason="the soak runs with MICRORADAR_SOAK=1"
    ),
]
NIGHTS = int(os.environ.get("MICRORADAR_SOAK_NIGHTS", "30"))
END = date(2026, 10, 31)

POISON = [
    b'{"event_id": "bad-1", "event_type": "like"',  # invalid_json
    b'{"event_id": "old-1", "event_type": "post", "event_time": "0001-01-01T00:00:00Z", "platform": "x",'
    b' "profile_id": "p", "post_id": "a"}',  # too_old_event
    b'{"event_id": "nul\\u0000", "event_type": "post", "event_time": "2026-10-01T00:00:00Z", "platform": "x",'
    b' "profile_id": "p", "post_id": "a"}',  # invalid_value
    b"\xff\xfe not utf-8",  # invalid_encoding
]


def test_thirty_nights_with_late_duplicate_and_poisoned_files_equal_one_run_over_everything(tmp_path):
    summary = generate_landing(tmp_path / "gen", profiles=10, days=NIGHTS, seed=11, end_date=END)
    days = sorted(p.name for p in summary.landing_dir.iterdir() if p.is_dir())
    landing, wh = tmp_path / "landing", tmp_path / "wh"
    landing.mkdir()
    late: dict[int, list] = {}  # night -> files that land that night, late
    for night, day in enumerate(days):
        files = sorted((summary.landing_dir / day).iterdir())
        target = landing / day
        target.mkdir()
        for i, f in enumerate(files):
            if night % 5 == 2 and i == 0 and night + 3 < len(days):
                late.setdefault(night + 3, []).append(f)  # this file lands three nights late
                continue
            shutil.copy(f, target / f.name)
        for f in late.pop(night, []):
            shutil.copy(f, landing / f.parent.name / f"late-{f.name}")
        if night % 4 == 1 and night > 0:  # an earlier day's file again, under a new name
            earlier = sorted((landing / days[night - 1]).iterdir())[0]
            shutil.copy(earlier, target / f"dup-{earlier.name}")
        if night % 6 == 3:  # poisoned lines, and a cut .gz of valid ones
            (target / "poison.jsonl").write_bytes(b"\n".join(POISON) + b"\n")
            packed = gzip.compress(
                b"".join(files[0].read_bytes().splitlines(keepends=True)[:50])
                if not files[0].name.endswith(".gz")
                else gzip.decompress(files[0].read_bytes())
            )
            (target / "cut.jsonl.gz").write_bytes(packed[: len(packed) * 2 // 3])
        as_of = date.fromisoformat(day)
        run = nightly(landing, wh, as_of)
        assert run.returncode == 0, (day, run.stderr[-2000:])
        assert_readable(wh)
    once = tmp_path / "once"
    # as of the last night's day: the generator lands the last day's late lines a day after END
    run = nightly(landing, once, date.fromisoformat(days[-1]))
    assert run.returncode == 0, run.stderr[-2000:]
    assert_same_warehouse(wh, once)
    assert analyst_counts(wh) == analyst_counts(once)
    assert END - timedelta(days=NIGHTS - 1) == date.fromisoformat(days[0])
