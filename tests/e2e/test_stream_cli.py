"""End to end through `microradar stream`, as a user runs it: files land, rows appear, Ctrl-C
stops it cleanly, and a restart on the same landing directory does not count a file twice.

The CLI runs as `python -m microradar.cli` with this checkout first on PYTHONPATH (the venv's
editable install may point at another checkout). Event times are recent days computed from
now, with a lateness generous enough that none of them is too late; the expected numbers are
worked out by hand from the events below.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from pathlib import Path

import pyarrow.dataset as ds
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[2]
NOW = datetime.now(UTC)
D1 = NOW.date() - timedelta(days=1)  # yesterday: its day window is closed, within the lateness
D2 = NOW.date() - timedelta(days=2)
METRICS = (
    "posts",
    "likes",
    "comments",
    "shares",
    "saves",
    "interactions",
    "unique_engagers",
    "creator_replies",
    "sponsored_posts",
    "followers_first",
    "followers_last",
)


def at(day, hour: int) -> str:
    return datetime.combine(day, clock(hour), tzinfo=UTC).isoformat().replace("+00:00", "Z")


def ev(
    event_id: str, event_type: str, when: str, profile: str = "alice", platform: str = "instagram", **fields
) -> str:
    base = {
        "event_id": event_id,
        "event_type": event_type,
        "event_time": when,
        "platform": platform,
        "profile_id": profile,
    }
    if event_type in ("like", "comment", "share", "save"):
        base["post_id"] = "p1"
    return json.dumps({**base, **fields})


FIRST = [
    ev("p1", "post", at(D2, 8), post_id="p1", sponsored=True),
    ev("l1", "like", at(D2, 9), actor_id="bob"),
    ev("c1", "comment", at(D2, 10), actor_id="carol"),
    ev("l2", "like", at(D2, 11), actor_id="alice"),  # self-engagement: not audience engagement
    ev("s1", "profile_snapshot", at(D2, 7), followers=12_000),
    ev("l1", "like", at(D2, 9), actor_id="bob"),  # the same event again: counted once
    ev("l3", "like", at(D1, 9), actor_id="bob"),
    ev("sh1", "share", at(D1, 10), actor_id="dave"),
    ev("sv1", "save", at(D1, 11), actor_id="erin"),
    ev("c2", "comment", at(D1, 12), actor_id="alice"),  # the creator replying
    ev("s2", "profile_snapshot", at(D1, 6), followers=12_500),
    ev("s3", "profile_snapshot", at(D1, 20), followers=12_600),
    ev("z1", "like", at(D1, 13), profile="zed", platform="tiktok", actor_id="bob"),
    "{not json",  # rejected
    # Today: moves the event-time watermark past D1 (out-of-orderness 0), so D1's windows close;
    # today's own window is not over, so it is never written.
    ev(
        "t1", "like", NOW.isoformat().replace("+00:00", "Z"), profile="zed", platform="tiktok", actor_id="bob"
    ),
    "",  # blank: skipped
]
SECOND = [
    ev("l4", "like", at(D1, 14), actor_id="frank"),
    ev("c1", "comment", at(D2, 10), actor_id="carol"),  # a copy of a first-run event, across the restart
    ev("c3", "comment", at(D2, 15), actor_id="gina"),
    # 20 days old, after the watermark reached today: past the 5-day lateness, too late.
    ev("old1", "like", (NOW - timedelta(days=20)).isoformat().replace("+00:00", "Z"), actor_id="bob"),
]

# (platform, profile, day) -> posts, likes, comments, shares, saves, interactions, unique_engagers,
# creator_replies, sponsored_posts, followers_first, followers_last
DAILY_FIRST = {
    ("instagram", "alice", D2): (1, 1, 1, 0, 0, 2, 2, 0, 1, 12_000, 12_000),  # engagers bob, carol
    ("instagram", "alice", D1): (0, 1, 0, 1, 1, 3, 3, 1, 0, 12_500, 12_600),  # bob, dave, erin
    ("tiktok", "zed", D1): (0, 1, 0, 0, 0, 1, 1, 0, 0, None, None),
}
DAILY_SECOND = {
    ("instagram", "alice", D2): (1, 1, 2, 0, 0, 3, 3, 0, 1, 12_000, 12_000),  # + gina's comment
    ("instagram", "alice", D1): (0, 2, 0, 1, 1, 4, 4, 1, 0, 12_500, 12_600),  # + frank's like
    ("tiktok", "zed", D1): (0, 1, 0, 0, 0, 1, 1, 0, 0, None, None),
}
# 7-day window ending D1 for alice: both days together (unique engagers over the window).
TRAILING_FIRST = (1, 2, 1, 1, 1, 5, 4, 1, 1, 12_000, 12_600)  # bob, carol, dave, erin
TRAILING_SECOND = (1, 3, 2, 1, 1, 7, 6, 1, 1, 12_000, 12_600)  # + frank, gina


def land(landing: Path, name: str, lines: list[str]) -> None:
    hidden = landing / f".{name}"  # discovery skips dot files: an upload is invisible until renamed
    hidden.write_text("\n".join(lines) + "\n")
    hidden.rename(landing / name)


def read(warehouse: Path, name: str, partition: str) -> dict:
    table = ds.dataset(warehouse / name, format="parquet", partitioning="hive").to_table()
    return {
        (r["platform"], r["profile_id"], str(r[partition]))
        + ((r["window_days"],) if "window_days" in r else ()): tuple(r[m] for m in METRICS)
        for r in table.to_pylist()
    }


def daily(warehouse: Path) -> dict:
    return {
        (p, q, datetime.strptime(d, "%Y-%m-%d").date()): v
        for (p, q, d), v in read(warehouse, "engagement_daily", "day").items()
    }


def alice_7d(warehouse: Path):
    return read(warehouse, "engagement_trailing", "window_end").get(("instagram", "alice", str(D1), 7))


def stream(landing: Path, warehouse: Path, *extra: str, sigint_ignored: bool = False) -> subprocess.Popen:
    """`microradar stream` in a subprocess; `sigint_ignored`: started as a shell starts a background
    job (SIGINT ignored), as supervisors often do: SIGINT must still stop it."""
    env = dict(
        os.environ,
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        DO_NOT_TRACK="1",
        PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
    )
    env.pop("PREFECT_LOGGING_LEVEL", None)  # another test module may set it; the CLI picks its own
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "microradar.cli",
            "stream",
            "--landing",
            str(landing),
            "--warehouse",
            str(warehouse),
            "--poll-interval",
            "0.5",
            "--allowed-lateness",
            "5d",
            "--out-of-orderness",
            "0",
            *extra,
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=(lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if sigint_ignored else None,
    )


def wait_for(proc: subprocess.Popen, done, timeout_s: float = 60) -> None:
    """Poll until done() is true; a stream that died or never got there fails with its output."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            if done():
                return
        except (OSError, ValueError, KeyError):  # nothing written yet, or a partition mid-swap
            pass
        time.sleep(0.25)
    proc.kill()
    out, err = proc.communicate()
    raise AssertionError(f"timed out or exited ({proc.returncode})\nstdout:\n{out}\nstderr:\n{err}")


def interrupt(proc: subprocess.Popen, sig=signal.SIGINT) -> tuple[str, str]:
    """SIGINT (Ctrl-C, or a supervisor) or SIGTERM: the stream drains and stops by itself, within
    its grace period, with exit status 0."""
    proc.send_signal(sig)
    try:
        out, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(f"did not stop on SIGINT\nstdout:\n{out}\nstderr:\n{err}") from None
    assert proc.returncode == 0, (proc.returncode, out, err)
    assert "stopped" in err, err
    assert "Traceback" not in err, err
    return out, err


def dead_letters(warehouse: Path, name: str) -> list[tuple]:
    table = pq.read_table(warehouse / name)
    return sorted(
        zip(table["source_file"].to_pylist(), table["source_line"].to_pylist(), table["reason"].to_pylist())
    )


def test_stream_ctrl_c_and_restart_count_every_file_once(tmp_path):
    landing, warehouse = tmp_path / "landing", tmp_path / "wh"
    landing.mkdir()
    land(landing, "a.jsonl", FIRST)

    proc = stream(landing, warehouse)
    wait_for(proc, lambda: daily(warehouse) == DAILY_FIRST and alice_7d(warehouse) == TRAILING_FIRST)
    out, _ = interrupt(proc, signal.SIGTERM)
    assert "resuming" not in out  # a first start has nothing to resume
    assert daily(warehouse) == DAILY_FIRST and alice_7d(warehouse) == TRAILING_FIRST
    assert dead_letters(warehouse, "rejected") == [("a.jsonl", 14, "invalid_json")]
    assert not (warehouse / "stream_too_late").exists()
    assert not (warehouse / "engagement_daily" / f"day={NOW.date()}").exists()  # today is not over
    manifest = pq.read_table(warehouse / "_meta" / "stream_manifest.parquet")
    assert manifest["relpath"].to_pylist() == ["a.jsonl"]
    assert not (warehouse / "_meta" / "manifest.parquet").exists()  # the nightly's manifest is not touched

    # Restart on the same landing directory: the old file again, plus a new one.
    land(landing, "b.jsonl", SECOND)
    proc = stream(landing, warehouse, sigint_ignored=True)
    wait_for(proc, lambda: daily(warehouse) == DAILY_SECOND and alice_7d(warehouse) == TRAILING_SECOND)
    out, _ = interrupt(proc)
    assert "resuming: 1 landing file(s) consumed by earlier stream runs" in out
    assert daily(warehouse) == DAILY_SECOND and alice_7d(warehouse) == TRAILING_SECOND
    assert dead_letters(warehouse, "rejected") == [("a.jsonl", 14, "invalid_json")]  # not recorded twice
    assert dead_letters(warehouse, "stream_too_late") == [("b.jsonl", 4, "too_late")]
    manifest = pq.read_table(warehouse / "_meta" / "stream_manifest.parquet")
    assert manifest["relpath"].to_pylist() == ["a.jsonl", "b.jsonl"]
    assert len(set(manifest["run_id"].to_pylist())) == 2


def test_a_second_signal_exits_at_once_and_leaves_the_last_state_readable(tmp_path):
    landing, warehouse = tmp_path / "landing", tmp_path / "wh"
    landing.mkdir()
    land(landing, "a.jsonl", FIRST)
    proc = stream(landing, warehouse, "--grace-period", "10m")
    wait_for(proc, lambda: daily(warehouse) == DAILY_FIRST and alice_7d(warehouse) == TRAILING_FIRST)
    proc.send_signal(signal.SIGTERM)
    # Signals are not queued: send the second once the first is handled (the stream says so).
    seen = []
    while not seen or "draining" not in seen[-1]:
        line = proc.stdout.readline()
        assert line, ("stdout closed before the drain began", seen)
        seen.append(line)
    proc.send_signal(signal.SIGTERM)
    try:
        out, err = proc.communicate(timeout=30)
        out = "".join(seen) + out
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError("a second SIGTERM did not end the stream at once") from None
    assert proc.returncode == 128 + signal.SIGTERM, (proc.returncode, out, err)
    assert "second signal" in out, out
    # Every write is an atomic swap: the state before the signals reads back whole.
    assert daily(warehouse) == DAILY_FIRST and alice_7d(warehouse) == TRAILING_FIRST
    assert pq.read_table(warehouse / "_meta" / "stream_manifest.parquet")["relpath"].to_pylist() == [
        "a.jsonl"
    ]
