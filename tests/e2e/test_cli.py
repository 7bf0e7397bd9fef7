"""End to end through the `microradar` command, as a user runs it: generate, nightly, rerun, query.
The first night and the cut-gz night run as a user runs them, with no Prefect server configured;
the reruns on top share the session's server (tests/prefect_server.py)."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.prefect_server import cli_env

BIN = Path(sys.executable).parent / "microradar"
END = datetime.now(UTC).date() - timedelta(days=1)  # the generator's default end date


def microradar(*args, cwd=None, check=True, env=None) -> subprocess.CompletedProcess:
    """The installed command. By default with no Prefect server configured, as a user runs it (each
    flow starts Prefect's temporary server); other modules pass `env=cli_env()` for the shared one."""
    if env is None:
        env = dict(os.environ, PREFECT_SERVER_ANALYTICS_ENABLED="false", DO_NOT_TRACK="1")
        env.pop("PREFECT_LOGGING_LEVEL", None)  # another test module may set it; the CLI picks its own
        env.pop("PREFECT_API_URL", None)
    result = subprocess.run(
        [str(BIN), *map(str, args)], capture_output=True, text=True, cwd=cwd, env=env, timeout=600
    )
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
    result = microradar(
        "nightly",
        "--landing",
        root / "gen" / "landing",
        "--warehouse",
        root / "wh",
        "--as-of",
        END.isoformat(),
        "--",
        "--runner=FnApiRunner",
    )
    report = json.loads((root / "wh" / "_meta" / "last_run.json").read_text())
    return root, result, report


def test_every_line_is_accounted_for(night):
    _, result, report = night
    c = report["counts"]
    assert c["identity_holds"]
    assert c["lines_read"] == c["accepted"] + c["duplicates"] + c["rejected"] + c["blank"]
    assert c["duplicates"] > 0 and c["conflicting_duplicates"] > 0 and c["blank"] > 0
    for reason in (
        "invalid_json",
        "missing_field",
        "invalid_type",
        "invalid_timestamp",
        "naive_timestamp",
        "unknown_event_type",
        "negative_count",
        "future_event",
    ):
        assert c["rejected_by_reason"].get(reason, 0) >= 1, reason
    assert f"lines read {c['lines_read']:,}" in result.stdout


def test_planted_rising_profiles_are_flagged_and_spikes_are_not(night):
    root, _, _ = night
    truth = list(csv.DictReader((root / "gen" / "ground_truth.csv").open()))
    sql = (
        f"select platform || '/' || profile_id as p, is_rising, is_suspicious from profile_daily "
        f"where day = date '{END}'"
    )
    out = microradar(
        "query", "--warehouse", root / "wh", "--format", "json", "--output", root / "flags.json", sql
    )
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
        out = microradar(
            "query",
            "--warehouse",
            root / "wh",
            "--format",
            "csv",
            "--output",
            root / f"{ds.name}.csv",
            f"select * from {ds.name} limit 1",
        )
        header = (root / f"{ds.name}.csv").read_text().splitlines()[0].split(",")
        assert sorted(header) == sorted(ds.columns + [ds.partition]), ds.name
        assert out.returncode == 0


def test_a_rerun_changes_nothing(night):
    root, _, _ = night
    before = state_of(root / "wh")
    result = microradar(
        "nightly",
        "--landing",
        root / "gen" / "landing",
        "--warehouse",
        root / "wh",
        "--as-of",
        END.isoformat(),
        env=cli_env(),
    )
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
    result = microradar(
        "nightly",
        "--landing",
        landing,
        "--warehouse",
        wh,
        "--as-of",
        END.isoformat(),
        check=False,
        env=cli_env(),
    )
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
        (
            ["backfill", "--warehouse", "/no/such/wh", "--from", "2026-11-01", "--to", "2026-11-02"],
            "no warehouse",
        ),
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
    result = microradar(
        "nightly",
        "--landing",
        tmp_path / "landing",
        "--warehouse",
        tmp_path / "wh",
        "--as-of",
        "2026-11-20",
        check=False,
    )
    assert result.returncode == 0, result.stderr
    con = duckdb.connect()
    rejected = con.execute(
        f"select source_file, reason, detail from read_parquet('{tmp_path}/wh/rejected/*/*.parquet')"
    ).fetchall()
    assert [(r[0], r[1]) for r in rejected] == [("2026-11-20/cut.jsonl.gz", "corrupt_file")]
    assert "at byte" in rejected[0][2]
    events = con.execute(f"select count(*) from read_parquet('{tmp_path}/wh/events/*/*.parquet')").fetchone()[
        0
    ]
    assert 1 < events < 2001  # the good file and the lines before the cut


# --- a strict command line -------------------------------------------------------------------------


def test_version_comes_from_the_package_metadata():
    from importlib.metadata import version

    result = microradar("--version")
    assert result.stdout.strip() == f"microradar {version('microradar')}"


@pytest.mark.parametrize(
    "args, message",
    [
        (["nightly", "--landin", "."], "unrecognized arguments: --landin (did you mean --landing?)"),
        (["nightly", "--land", "."], "(did you mean --landing?)"),  # abbreviations are not accepted
        (["query", "--formt", "csv", "select 1"], "(did you mean --format?)"),
        (["query", "--form", "csv", "select 1"], "(did you mean --format?)"),
        (["--versoin"], "(did you mean --version?)"),
        (["nightly", "--landing", ".", "--direct_num_workers=2"], "Beam pipeline options go after --"),
        (
            ["nightly", "--landing", ".", "--runner=FnApiRunner", "--", "--direct_num_workers=2"],
            "unrecognized arguments: --runner=FnApiRunner",
        ),
        (["generate", "--out", "x", "--", "--runner=FnApiRunner"], "take Beam pipeline options after --"),
        (
            ["nightly", "--landing", ".", "--", "--direct_num_workrs=2"],
            "unrecognized Beam pipeline options after --: --direct_num_workrs (did you mean --direct_num_workers?)",
        ),
        (["query", "--log-level", "LOUD", "select 1"], "invalid choice"),
    ],
)
def test_unknown_or_mistyped_options_fail_with_a_suggestion(args, message, tmp_path):
    result = microradar(*args, check=False, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x").exists()


def test_beam_options_after_a_double_dash_reach_beam(night, tmp_path):
    root, _, _ = night
    result = microradar(
        "nightly",
        "--landing",
        root / "gen" / "landing",
        "--warehouse",
        tmp_path / "wh",
        "--as-of",
        END.isoformat(),
        "--log-level",
        "info",
        "--",
        "--runner=NoSuchRunner",
        check=False,
        env=cli_env(),
    )
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("microradar: error:")]
    assert len(errors) == 1 and "NoSuchRunner" in errors[0], result.stderr


def test_a_run_prints_plain_progress_lines_when_stdout_is_not_a_terminal(night):
    _, result, _ = night
    assert "beam ingest: reading" in result.stdout and "sql layer:" in result.stdout
    assert "\x1b[" not in result.stdout  # no spinner or colour codes in a log


# --- query: stdout in every format, list columns, truncation, the sandbox ---------------------------

LISTS = "select platform, profile_id, rising_reasons from profile_daily where is_rising order by all limit 3"


def test_query_prints_every_text_format_to_stdout_and_accepts_a_trailing_semicolon(night):
    root, _, _ = night
    wh = root / "wh"
    table = microradar("query", "--warehouse", wh, LISTS + " ;").stdout
    assert table.splitlines()[0].split() == ["platform", "profile_id", "rising_reasons"]
    assert "(3 rows)" in table
    rows = list(
        csv.reader(microradar("query", "--warehouse", wh, "--format", "csv", LISTS + ";").stdout.splitlines())
    )
    assert rows[0] == ["platform", "profile_id", "rising_reasons"] and len(rows) == 4
    reasons = json.loads(rows[1][2])  # a list column: JSON in one quoted field
    assert isinstance(reasons, list) and reasons and all(isinstance(r, str) for r in reasons)
    lines = microradar("query", "--warehouse", wh, "--format", "json", LISTS).stdout.splitlines()
    objects = [json.loads(line) for line in lines]
    assert [o["rising_reasons"] for o in objects][0] == reasons  # a real array
    assert [[o["platform"], o["profile_id"]] for o in objects] == [r[:2] for r in rows[1:]]


def test_query_writes_parquet_to_a_pipe_and_refuses_a_terminal(night, tmp_path):
    import io
    import pty

    import pyarrow.parquet as pq

    root, _, _ = night
    env = dict(os.environ, PREFECT_SERVER_ANALYTICS_ENABLED="false", DO_NOT_TRACK="1")
    piped = subprocess.run(
        [str(BIN), "query", "--warehouse", str(root / "wh"), "--format", "parquet", LISTS],
        capture_output=True,
        env=env,
        timeout=120,
    )
    assert piped.returncode == 0, piped.stderr
    table = pq.read_table(io.BytesIO(piped.stdout))
    assert table.num_rows == 3 and table.schema.field("rising_reasons").type.value_type == "string"
    leader, follower = pty.openpty()
    try:
        tty = subprocess.run(
            [str(BIN), "query", "--warehouse", str(root / "wh"), "--format", "parquet", "select 1"],
            stdout=follower,
            stderr=subprocess.PIPE,
            env=env,
            timeout=120,
        )
    finally:
        os.close(follower)
        os.close(leader)
    assert tty.returncode == 1 and b"--output" in tty.stderr


def test_the_table_says_when_it_is_truncated_and_how_to_see_all(night):
    root, _, _ = night
    out = microradar("query", "--warehouse", root / "wh", "select * from range(100) as t(n)").stdout
    assert (
        "(40 of 100 rows shown: --max-rows N shows more, --max-rows 0 all, --format csv or json every row)"
        in out
    )
    assert len(out.strip().splitlines()) == 2 + 40 + 1
    out = microradar(
        "query", "--warehouse", root / "wh", "--max-rows", "0", "select * from range(100) as t(n)"
    ).stdout
    assert "(100 rows)" in out and "shown" not in out and out.splitlines()[-2].strip() == "99"


def test_output_is_a_path_never_sql_text(night, tmp_path):
    root, _, _ = night
    target = tmp_path / "it's'; select 1; --" / "out'.csv"
    target.parent.mkdir()
    result = microradar("query", "--warehouse", root / "wh", "--format", "csv", "--output", target, LISTS)
    assert f"wrote {target}" in result.stdout
    rows = list(csv.reader(target.open()))
    assert len(rows) == 4 and isinstance(json.loads(rows[1][2]), list)
    assert sorted(p.name for p in tmp_path.rglob("*")) == sorted([target.parent.name, target.name])


@pytest.mark.parametrize(
    "sql, message",
    [
        ("select * from read_text('/etc/passwd')", "Permission Error"),
        ("select * from glob('/etc/*')", "Permission Error"),
        ("copy (select 1) to 'WH/events/x.csv'", "not COPY"),
        ("attach 'WH/other.duckdb' as other", "not ATTACH"),
        ("INSTALL httpfs", "not INSTALL"),
        ("load httpfs", "not LOAD"),
        ("select 1; select 2", "one statement, got 2"),
        ("select 1; copy (select 1) to 'WH/x.csv'", "one statement, got 2"),
        ("set enable_external_access = true", "not SET"),
        ("pragma version", "not PRAGMA"),
        ("create table t as select 1", "not CREATE"),
        ("drop view events", "not DROP"),
    ],
)
def test_query_is_sandboxed(night, sql, message):
    root, _, _ = night
    wh = root / "wh"
    before = sorted(str(p) for p in wh.rglob("*"))
    result = microradar("query", "--warehouse", wh, sql.replace("WH", str(wh)), check=False)
    assert result.returncode == 1 and message in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert sorted(str(p) for p in wh.rglob("*")) == before
    assert "events" in microradar("query", "--warehouse", wh, "show tables").stdout


def test_unsafe_lifts_the_sandbox(night, tmp_path):
    root, _, _ = night
    target = tmp_path / "copied.csv"
    result = microradar(
        "query",
        "--warehouse",
        root / "wh",
        "--unsafe",
        "--format",
        "csv",
        f"copy (select 42 as x) to '{target}' (header); select x from read_csv('{target}')",
    )
    assert result.stdout.splitlines() == ["x", "42"]


# --- the analyst file: the real DuckDB CLI, a moved warehouse ---------------------------------------


def test_a_copied_warehouse_opens_in_the_duckdb_cli_with_the_same_answers(night, tmp_path):
    root, _, _ = night
    cli = Path(sys.executable).parent / "duckdb"  # pip duckdb-cli, the current release
    sql = (
        f"select count(*) as n, sum(followers) as followers, count(*) filter (where is_rising) as rising "
        f"from profile_daily; select count(*) as n from rising_on(date '{END}'); "
        f"select count(*) as n from events; select count(*) as n from stream_too_late"
    )
    expected = [
        json.loads(microradar("query", "--warehouse", root / "wh", "--format", "json", q).stdout)
        for q in sql.split("; ")
    ]
    moved = tmp_path / "mnt" / "warehouse"
    moved.parent.mkdir()
    subprocess.run(["cp", "-r", str(root / "wh"), str(moved)], check=True)
    for cwd, commands in ((moved, []), (tmp_path, ["-cmd", f"SET file_search_path='{moved}'"])):
        got = []
        for q in sql.split("; "):
            result = subprocess.run(
                [
                    str(cli),
                    "-readonly",
                    "-json",
                    "-cmd",
                    "SET TimeZone='UTC'",
                    *commands,
                    str(moved / "microradar.duckdb"),
                    "-c",
                    q,
                ],
                capture_output=True,
                text=True,
                cwd=cwd,
                timeout=120,
            )
            assert result.returncode == 0, result.stderr
            got.append(json.loads(result.stdout)[0])
        assert got == expected
    assert microradar(
        "query", "--warehouse", moved, "--format", "json", sql.split("; ")[0]
    ).stdout.strip() == json.dumps(expected[0], separators=(",", ":"))
