"""End to end through the `microradar` command, as a user runs it: generate, nightly, rerun, query."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent / "microradar"
END = datetime.now(timezone.utc).date() - timedelta(days=1)  # the generator's default end date


def microradar(*args, cwd=None, check=True) -> subprocess.CompletedProcess:
    env = dict(os.environ, PREFECT_SERVER_ANALYTICS_ENABLED="false", DO_NOT_TRACK="1")
    env.pop("PREFECT_LOGGING_LEVEL", None)  # another test module may set it; the CLI picks its own
    result = subprocess.run([str(BIN), *map(str, args)], capture_output=True, text=True, cwd=cwd, env=env,
                            timeout=600)
    if check and result.returncode != 0:
        raise AssertionError(f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}")
    return result


def state_of(warehouse: Path) -> dict[str, tuple]:
    """Every published file (path -> size, mtime): a rerun that changes nothing leaves this equal."""
    return {
        str(p.relative_to(warehouse)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(warehouse.rglob("*.parquet"))
        if "_meta" not in p.parts
    }


@pytest.fixture(scope="module")
def night(tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e")
    microradar("generate", "--out", root / "gen", "--profiles", 60, "--days", 40, "--seed", 11)
    result = microradar("nightly", "--landing", root / "gen" / "landing", "--warehouse", root / "wh",
                        "--as-of", END.isoformat(), "--", "--runner=FnApiRunner")
    report = json.loads((root / "wh" / "_meta" / "last_run.json").read_text())
    return root, result, report


def test_every_line_is_accounted_for(night):
    _, result, report = night
    c = report["counts"]
    assert c["identity_holds"]
    assert c["lines_read"] == c["accepted"] + c["duplicates"] + c["rejected"] + c["blank"]
    assert c["duplicates"] > 0 and c["conflicting_duplicates"] > 0 and c["blank"] > 0
    for reason in ("invalid_json", "missing_field", "invalid_type", "invalid_timestamp", "naive_timestamp",
                   "unknown_event_type", "negative_count", "future_event"):
        assert c["rejected_by_reason"].get(reason, 0) >= 1, reason
    assert f"lines read {c['lines_read']:,}" in result.stdout


def test_planted_rising_profiles_are_flagged_and_spikes_are_not(night):
    root, _, _ = night
    truth = list(csv.DictReader((root / "gen" / "ground_truth.csv").open()))
    sql = (f"select platform || '/' || profile_id as p, is_rising, is_suspicious from profile_daily "
           f"where day = date '{END}'")
    out = microradar("query", "--warehouse", root / "wh", "--format", "json", "--output", root / "flags.json", sql)
    assert "wrote" in out.stdout
    rows = [json.loads(line) for line in (root / "flags.json").read_text().splitlines() if line.strip()]
    flags = {r["p"]: r for r in rows}
    rising = [t for t in truth if t["expected_rising"] == "true"]
    spikes = [t for t in truth if t["archetype"] == "bought_spike"]
    assert rising and spikes
    for t in rising:
        assert flags[f"{t['platform']}/{t['profile_id']}"]["is_rising"], t
    for t in spikes:
        key = f"{t['platform']}/{t['profile_id']}"
        assert not flags[key]["is_rising"] and flags[key]["is_suspicious"], t


def test_datasets_have_the_spec_columns(night):
    root, _, _ = night
    from schemas.datasets import VIEW_DATASETS

    for ds in VIEW_DATASETS:
        out = microradar("query", "--warehouse", root / "wh", "--format", "csv", "--output", root / f"{ds.name}.csv",
                         f"select * from {ds.name} limit 1")
        header = (root / f"{ds.name}.csv").read_text().splitlines()[0].split(",")
        assert sorted(header) == sorted(ds.columns + [ds.partition]), ds.name
        assert out.returncode == 0


def test_a_rerun_changes_nothing(night):
    root, _, _ = night
    before = state_of(root / "wh")
    result = microradar("nightly", "--landing", root / "gen" / "landing", "--warehouse", root / "wh",
                        "--as-of", END.isoformat())
    assert "nothing to do" in result.stdout
    assert state_of(root / "wh") == before


def test_a_changed_landed_file_is_refused_loudly(night, tmp_path):
    root, _, _ = night
    landing = tmp_path / "landing"
    subprocess.run(["cp", "-r", str(root / "gen" / "landing"), str(landing)], check=True)
    wh = tmp_path / "wh"
    subprocess.run(["cp", "-r", str(root / "wh"), str(wh)], check=True)
    victim = sorted(landing.rglob("*.jsonl"))[0]
    victim.write_text(victim.read_text() + "\n")
    result = microradar("nightly", "--landing", landing, "--warehouse", wh, "--as-of", END.isoformat(), check=False)
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert "changed after ingestion" in result.stderr and victim.name in result.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["nightly", "--landing", "/no/such/dir"], "no such directory"),
        (["nightly", "--landing", ".", "--as-of", "2026-02-30"], "not a date"),
        (["query", "--warehouse", "/no/such/wh", "select 1"], "no warehouse database"),
        (["generate"], "--out"),
        (["backfill", "--warehouse", "/no/such/wh", "--from", "2026-11-01", "--to", "2026-11-02"], "no warehouse"),
        (["backfill", "--from", "2026-11-01", "--to", "yesterday"], "not a date"),
        (["nightly", "--landing", ".", "--num-buckets", "0"], "must be at least 1"),
        (["nightly", "--landing", ".", "--num-buckets", "many"], "not a whole number"),
    ],
)
def test_errors_are_one_line_with_a_non_zero_exit(args, message):
    result = microradar(*args, check=False)
    assert result.returncode != 0
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_bad_sql_is_a_one_line_error(night):
    root, _, _ = night
    result = microradar("query", "--warehouse", root / "wh", "select * from no_such_table", check=False)
    assert result.returncode == 1 and "no_such_table" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_every_subcommand_has_help():
    for sub in ("demo", "generate", "nightly", "backfill", "stream", "query"):
        result = microradar(sub, "--help")
        assert "usage: microradar" in result.stdout and "--log-level" in result.stdout
        if sub in ("demo", "nightly", "backfill", "stream"):
            assert "[-- BEAM_OPTIONS]" in result.stdout


def test_a_cut_gz_keeps_its_lines_and_the_cut_is_one_rejected_record_the_night_goes_on(tmp_path):
    import gzip

    import duckdb

    landing = tmp_path / "landing" / "2026-11-20"
    landing.mkdir(parents=True)
    good = b'{"event_id":"e%d","event_type":"post","event_time":"2026-11-20T10:00:00Z","platform":"x","profile_id":"p","post_id":"a"}\n'
    (landing / "good.jsonl").write_bytes(good % 0)
    packed = gzip.compress(b"".join(good % i for i in range(1, 2001)))
    (landing / "cut.jsonl.gz").write_bytes(packed[: len(packed) // 2])
    result = microradar("nightly", "--landing", tmp_path / "landing", "--warehouse", tmp_path / "wh",
                        "--as-of", "2026-11-20", check=False)
    assert result.returncode == 0, result.stderr
    con = duckdb.connect()
    rejected = con.execute(f"select source_file, reason, detail from read_parquet('{tmp_path}/wh/rejected/*/*.parquet')").fetchall()
    assert [(r[0], r[1]) for r in rejected] == [("2026-11-20/cut.jsonl.gz", "corrupt_file")]
    assert "at byte" in rejected[0][2]
    events = con.execute(f"select count(*) from read_parquet('{tmp_path}/wh/events/*/*.parquet')").fetchone()[0]
    assert 1 < events < 2001  # the good file and the lines before the cut
