"""`microradar import` as a user runs it: a subprocess of the installed console script."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from importer_checks import FIXTURES, assert_contract, read_events

SCRIPT = Path(sys.executable).parent / "microradar"


def run(*args, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PREFECT_HOME": os.environ.get("PREFECT_HOME", str(Path.cwd() / ".prefect"))}
    return subprocess.run(
        [str(SCRIPT), "import", *args], capture_output=True, input=stdin, env=env, check=False
    )


def test_help_lists_sources_and_their_options():
    out = run("--help")
    assert out.returncode == 0
    text = out.stdout.decode()
    for word in (
        "x-api",
        "youtube-api",
        "bluesky",
        "csv",
        "--platform",
        "--kind",
        "--map",
        "--followers-sigfigs",
    ):
        assert word in text, word
    sub = run("csv", "--help").stdout.decode()
    assert "--observed-at" in sub and "--out" in sub and "--json" in sub


def test_x_api_import_prints_a_summary_and_writes_contract_events(tmp_path):
    out = run("x-api", "--out", str(tmp_path), str(FIXTURES / "x_pages.jsonl"))
    assert out.returncode == 0, out.stderr
    text = out.stdout.decode()
    assert "imported" in text and "rejected  1" in text and "x_pages.jsonl:3" in text
    assert len(text.splitlines()) <= 25  # one screen
    events = read_events(tmp_path)
    assert events
    assert_contract(events)


def test_json_summary_and_stdin(tmp_path):
    out = run(
        "bluesky",
        "--out",
        str(tmp_path),
        "--json",
        "-",
        stdin=(FIXTURES / "bluesky_jetstream.jsonl").read_bytes(),
    )
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert summary["records"] == summary["imported"] + sum(summary["skipped"].values()) + sum(
        summary["rejected"].values()
    )
    assert summary["skipped"]["deleted"] == 2 and summary["output"].endswith(".jsonl")


def test_missing_observed_at_fails_with_one_clear_line(tmp_path):
    out = run("youtube-api", "--out", str(tmp_path), str(FIXTURES / "youtube_channels.jsonl"))
    assert out.returncode != 0
    err = out.stderr.decode().strip()
    assert len(err.splitlines()) == 1 and "--observed-at" in err and "now" in err
    assert not tmp_path.exists() or list(tmp_path.iterdir()) == []


def test_usage_errors_are_one_line_and_non_zero(tmp_path):
    for args in (
        ["x-api", "--out", str(tmp_path), str(tmp_path / "missing.jsonl")],
        ["csv", "--out", str(tmp_path), "--platform", "x", str(FIXTURES / "csv_follows.csv")],
        ["x-api", "--out", str(tmp_path), "--platform", "x", str(FIXTURES / "x_flat.jsonl")],
        ["nope", "--out", str(tmp_path), "f"],
    ):
        out = run(*args)
        assert out.returncode != 0, args
        assert len(out.stderr.decode().strip().splitlines()) == 1, (args, out.stderr)


def test_csv_through_the_cli(tmp_path):
    out = run(
        "csv",
        "--out",
        str(tmp_path),
        "--platform",
        "youtube",
        "--kind",
        "profile_snapshot",
        "--map",
        "profile_id=Channel ID,followers=Subscribers",
        "--map",
        "observed_at=snapshot_utc",
        "--followers-sigfigs",
        "3",
        str(FIXTURES / "csv_snapshots_bom.csv"),
    )
    assert out.returncode == 0, out.stderr
    assert {e["profile_id"] for e in read_events(tmp_path)} == {"UC001", "UC002"}
