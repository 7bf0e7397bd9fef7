"""`microradar stream` started on an empty landing directory that is then fed file by file with
generated history, stopped with SIGTERM, ends with the same daily and trailing windows (every
length in schemas/units.py WINDOW_LENGTHS) as `microradar nightly` over the same files.

The stream's watermark follows event time, so history replays: the generator's late deliveries
(up to 3 days, within the default lateness) re-fire their windows. The data is the generator's
for three small profiles (about 4,000 lines), to keep the local streaming runner's time short,
in the generator's mixed mode: the YouTube profile is observed (post counters, rounded sparse
follower counts), the other two deliver events, so the stream's counter bookings
(pipelines/stream/counters.py) meet the nightly's.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow.dataset as ds

from ingest import landing as landing_files
from ingest import parse
from schemas.datasets import METRIC_NAMES
from schemas.units import WINDOW_LENGTHS
from tests.e2e.test_stream_cli import REPO, land, stream, wait_for
from tests.prefect_server import cli_env

KEEP = re.compile(rb'"profile_id"\s*:\s*"(bs_user_0002|ig_user_0007|yt_user_0008)"')
EVENT_TIME = parse.EVENT_COLUMNS.index("event_time")


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = cli_env(
        PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    )
    result = subprocess.run(
        [sys.executable, "-m", "microradar.cli", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, (result.returncode, result.stdout, result.stderr)
    return result


def _small_history(root: Path) -> list[tuple[str, list[str]]]:
    """(relpath, lines) of the generator's files, only the lines of three profiles."""
    _cli(
        "generate",
        "--out",
        str(root / "gen"),
        "--profiles",
        "8",
        "--days",
        "28",
        "--seed",
        "7",
        "--mode",
        "mixed",
    )
    files = []
    for landed in landing_files.discover(root / "gen" / "landing"):
        lines = [raw.decode() for _, raw in landing_files.iter_lines(landed.path) if KEEP.search(raw)]
        if lines:
            files.append((landed.relpath.removesuffix(".gz").replace("/", "-"), lines))
    return sorted(files)


def _last_complete_day(files) -> date:
    """The last day whose window ends by the last event time the stream accepts."""
    now_us = int(datetime.now(UTC).timestamp() * 1_000_000)
    last = max(
        row[EVENT_TIME]
        for _, lines in files
        for line in lines
        if isinstance(row := parse.parse_line(line.encode(), now_us), tuple)
    )
    return datetime.fromtimestamp(last / 1_000_000, tz=UTC).date() - timedelta(days=1)


def _rows(warehouse: Path, name: str, partition: str, as_of: date) -> dict:
    table = ds.dataset(warehouse / name, format="parquet", partitioning="hive").to_table()
    out = {}
    for r in table.to_pylist():
        day = r[partition] if isinstance(r[partition], date) else date.fromisoformat(str(r[partition]))
        if day > as_of or r.get("window_days", WINDOW_LENGTHS[0]) not in WINDOW_LENGTHS:
            continue
        key = (r["platform"], r["profile_id"], day.isoformat(), r.get("window_days"))
        out[key] = tuple(r[m] for m in METRIC_NAMES)
    return out


def test_stream_fed_file_by_file_then_sigterm_equals_nightly(tmp_path):
    files = _small_history(tmp_path)
    as_of = _last_complete_day(files)
    observations = sum('"post_metrics"' in line for _, lines in files for line in lines)
    assert observations >= 10, observations  # the mix is there
    landing, stream_wh, nightly_wh = tmp_path / "landing", tmp_path / "stream-wh", tmp_path / "nightly-wh"
    landing.mkdir()

    proc = stream(landing, stream_wh, "--out-of-orderness", "1h", "--grace-period", "10m")
    for relpath, lines in files:
        land(landing, relpath, lines)
    manifest = stream_wh / "_meta" / "stream_manifest.parquet"
    wait_for(proc, lambda: ds.dataset(manifest).count_rows() == len(files), timeout_s=300)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=900)
    assert proc.returncode == 0, (proc.returncode, out, err)

    _cli(
        "nightly",
        "--landing",
        str(landing),
        "--warehouse",
        str(nightly_wh),
        "--as-of",
        as_of.isoformat(),
        "--",
        "--runner=FnApiRunner",
    )

    for name, partition in (("engagement_daily", "day"), ("engagement_trailing", "window_end")):
        batch, streamed = _rows(nightly_wh, name, partition, as_of), _rows(stream_wh, name, partition, as_of)
        assert len(batch) > 50, (name, len(batch))
        missing, extra = sorted(set(batch) - set(streamed)), sorted(set(streamed) - set(batch))
        differ = [
            (k, batch[k], streamed[k]) for k in sorted(set(batch) & set(streamed)) if batch[k] != streamed[k]
        ]
        assert not (missing or extra or differ), (name, len(batch), missing[:3], extra[:3], differ[:3])
    lengths = {k[3] for k in _rows(stream_wh, "engagement_trailing", "window_end", as_of)}
    assert lengths == set(WINDOW_LENGTHS)
    # Nothing after the last complete day (no window that has not ended).
    days = [p.name for p in (stream_wh / "engagement_daily").iterdir()]
    assert max(days) == f"day={as_of.isoformat()}", sorted(days)[-3:]
