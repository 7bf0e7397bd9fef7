"""The whole `microradar nightly` command, as a user runs it, against a hand-written DuckDB script (issue 20).

    .venv/bin/python -m bench.nightly                                   # 2M events, 1 worker
    .venv/bin/python -m bench.nightly --events 2000000 --events 10000000 --workers 1 --workers 2
    .venv/bin/python -m bench.nightly --night 1 --night 61 --night 121 [--night-events 50000]

Sizes (`--events N`, default 2,000,000): the skewed data of bench/throughput.py (24 files, 14 days,
~1% duplicate and ~0.1% malformed lines). Each round runs, each in a fresh process under
`/usr/bin/time` (wall seconds, and the peak RSS of the largest process of its tree):
  - the DuckDB baseline: `bench.throughput`'s `duckdb_sql` (the same parse and validation, dedupe,
    daily metrics, 7/28-day windows with exact distinct engagers, Parquet out);
  - `microradar nightly --landing L --warehouse W --as-of D` on an empty warehouse (W is new for
    each run), its Beam options after `--` for two workers.
Rounds alternate the commands (`--repeat`, default 2) and every run is printed, with the ratio
of each round. The nightly's own steps come from its run report; "before the flow" is the wall
time the report does not cover (interpreter, imports, Prefect's API server, shutdown).

Nights (`--night N`, repeatable): a warehouse holds N-1 days of history (`--night-events` a day,
built by one untimed nightly run), then night N ingests one new day of `--night-events`;
night 1 ingests the same new files on an empty warehouse. Both alternate `--repeat` times (the
history restored in place each time) and the ratio night N / night 1 is printed.

Timings are measured, never asserted. Prefect's home is `OUT/prefect` unless PREFECT_HOME is
set; a first, untimed command creates its database.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

from bench import throughput

REPO = Path(__file__).resolve().parents[1]
DAYS, FILES = 14, 24  # the data: 24 files over 14 days
NIGHT_DAY = date(2026, 11, 30)


def microradar() -> str:
    return str(Path(sys.executable).parent / "microradar")


def timed(argv: list[str], log: Path, env: dict | None = None) -> dict:
    """Runs argv in a fresh process under /usr/bin/time: wall seconds, peak RSS (MB) of the largest
    process in its tree (ru_maxrss of wait4, as `time` reports it), and what it printed."""
    stats = log.with_suffix(".time")
    clock = time.perf_counter()
    with open(log, "w") as out:
        code = subprocess.call(
            ["/usr/bin/time", "-f", "%e %M", "-o", str(stats), *argv],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=str(REPO),
            env=env,
        )
    wall = time.perf_counter() - clock
    if code != 0:
        raise RuntimeError(f"{argv[:3]} failed (exit {code}); see {log}:\n{log.read_text()[-3000:]}")
    _, max_kb = stats.read_text().split()[-2:]
    return {"wall": wall, "rss_mb": int(max_kb) / 1024, "log": log}


def duckdb_baseline(gen: dict, target: Path, work: Path, name: str) -> dict:
    """The hand-written DuckDB script (bench/throughput.py `duckdb_sql`) in a fresh process."""
    shutil.rmtree(target, ignore_errors=True)
    spec = {
        "engine": "duckdb",
        "files": gen["files"],
        "target": str(target),
        "ingest_us": int(time.time() * 1_000_000),
        "first_day": gen["first_day"],
        "as_of": gen["as_of_day"],
        "result": str(work / f"{name}.result.json"),
    }
    spec_path = work / f"{name}.spec.json"
    spec_path.write_text(json.dumps(spec))
    run = timed([sys.executable, "-m", "bench.throughput", "--child", str(spec_path)], work / f"{name}.log")
    run["accepted"] = json.loads(Path(spec["result"]).read_text())["stats"]["accepted"]
    return run


def nightly(landing: Path, warehouse: Path, as_of: str, workers: int, log: Path) -> dict:
    """`microradar nightly` as a user runs it; with its run report's step durations and counts."""
    argv = [microradar(), "nightly", "--landing", str(landing), "--warehouse", str(warehouse)]
    argv += ["--as-of", as_of]
    if workers > 1:
        argv += ["--", f"--direct_num_workers={workers}", "--direct_running_mode=multi_processing"]
    run = timed(argv, log)
    report_line = next(line for line in log.read_text().splitlines() if line.strip().startswith("run report"))
    report = json.loads(Path(report_line.split()[-1]).read_text())
    run["steps"] = report["durations_s"]
    run["peaks"] = report.get("peak_rss_mb", {})
    run["accepted"] = report["counts"]["accepted"]
    return run


def _steps(run: dict) -> str:
    steps = dict(run["steps"])
    total = steps.pop("total", sum(steps.values()))
    peaks = run.get("peaks", {})  # the flow process's peak memory after each step, MiB
    parts = [f"before/after the flow {run['wall'] - total:.1f}"] + [
        f"{k} {v:.1f}" + (f" ({peaks[k]:,} MB)" if k in peaks else "") for k, v in steps.items()
    ]
    return ", ".join(parts)


def warm_up(out: Path) -> None:
    """One untimed command: Prefect's database is created (and migrated) before the clock runs."""
    (out / "warm" / "landing").mkdir(parents=True, exist_ok=True)
    timed(
        [
            microradar(),
            "nightly",
            "--landing",
            str(out / "warm" / "landing"),
            "--warehouse",
            str(out / "warm" / "wh"),
        ],
        out / "warm.log",
    )


def bench_size(events: int, out: Path, workers_list: list[int], repeat: int) -> list[dict]:
    root = out / f"n{events}"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    gen = throughput.generate(root / "landing", events, days=DAYS, files=FILES)
    print(f"\n== {events:,} lines, {FILES} files, {DAYS} days, in {root / 'landing'}", flush=True)
    rows = []
    for r in range(repeat):
        duck = duckdb_baseline(gen, root / "duckdb", root, f"duckdb-{r}")
        print(f"round {r + 1}: duckdb script {duck['wall']:.1f} s, {duck['rss_mb']:,.0f} MB", flush=True)
        rows.append({"what": "DuckDB script", "events": events, "round": r, **duck})
        for workers in workers_list:
            wh = root / f"wh-w{workers}-{r}"
            run = nightly(
                root / "landing", wh, gen["as_of_day"], workers, root / f"nightly-w{workers}-{r}.log"
            )
            shutil.rmtree(wh, ignore_errors=True)
            label = "`microradar nightly`" + (f", {workers} workers" if workers > 1 else "")
            print(
                f"round {r + 1}: {label} {run['wall']:.1f} s ({run['wall'] / duck['wall']:.2f}x), "
                f"{run['rss_mb']:,.0f} MB; {_steps(run)}; accepted {run['accepted']:,} "
                f"(duckdb {duck['accepted']:,})",
                flush=True,
            )
            rows.append({"what": label, "events": events, "round": r, "vs": duck["wall"], **run})
    shutil.rmtree(root / "landing", ignore_errors=True)
    return rows


def bench_night(n: int, out: Path, per_day: int, repeat: int) -> list[dict]:
    """Night n (n-1 days of history) against night 1 (the same new files, an empty warehouse)."""
    root = out / f"night{n}"
    shutil.rmtree(root, ignore_errors=True)
    night_gen = throughput.generate(
        root / "landing" / "night", per_day, days=1, files=2, gz_files=0, first_day=NIGHT_DAY, id_prefix="n"
    )
    shutil.copytree(root / "landing" / "night", root / "first" / "night")
    wh, pristine = root / "wh", root / "wh-before"
    history = n - 1
    if history:
        throughput.generate(
            root / "history" / "hist",
            per_day * history,
            days=history,
            files=max(2, history // 7),
            gz_files=0,
            first_day=NIGHT_DAY - timedelta(days=history),
            id_prefix="h",
        )
        built = nightly(
            root / "history", wh, (NIGHT_DAY - timedelta(days=1)).isoformat(), 1, root / "history.log"
        )
        print(f"night {n}: history of {history} days built in {built['wall']:.1f} s (untimed)", flush=True)
        shutil.move(
            root / "history" / "hist", root / "landing" / "hist"
        )  # the landing grows, as in production
        shutil.copytree(wh, pristine)
    rows = []
    for r in range(repeat):
        shutil.rmtree(root / "first-wh", ignore_errors=True)
        first = nightly(root / "first", root / "first-wh", night_gen["as_of_day"], 1, root / f"first-{r}.log")
        if history:
            shutil.rmtree(wh)
            shutil.copytree(pristine, wh)
        else:
            shutil.rmtree(wh, ignore_errors=True)
        os.sync()  # the restored warehouse reaches the disk before the clock starts
        last = nightly(root / "landing", wh, night_gen["as_of_day"], 1, root / f"night-{r}.log")
        print(
            f"night {n} round {r + 1}: night 1 {first['wall']:.1f} s, {first['rss_mb']:,.0f} MB ({_steps(first)}); "
            f"night {n} {last['wall']:.1f} s ({last['wall'] / first['wall']:.2f}x), {last['rss_mb']:,.0f} MB "
            f"({_steps(last)})",
            flush=True,
        )
        rows.append({"night": n, "round": r, "first": first, "last": last})
    return rows


def print_sizes(rows: list[dict]) -> None:
    print(
        "\n| command | events | round | wall s | × DuckDB script | peak RSS MB | steps (s, and the flow's peak MB after each) |"
    )
    print("|---|---:|---:|---:|---:|---:|---|")
    for row in rows:
        ratio = f"{row['wall'] / row['vs']:.2f}" if "vs" in row else "1"
        steps = _steps(row) if "steps" in row else ""
        print(
            f"| {row['what']} | {row['events']:,} | {row['round'] + 1} | {row['wall']:.1f} | {ratio} "
            f"| {row['rss_mb']:,.0f} | {steps} |"
        )


def print_nights(rows: list[dict], per_day: int) -> None:
    print("\n| night | new events | round | night 1 wall s | night N wall s | N / 1 | night N peak RSS MB |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        first, last = row["first"], row["last"]
        print(
            f"| {row['night']} | {per_day:,} | {row['round'] + 1} | {first['wall']:.1f} | {last['wall']:.1f} "
            f"| {last['wall'] / first['wall']:.2f} | {last['rss_mb']:,.0f} |"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--events", type=int, action="append", help="input lines (repeatable); default 2000000"
    )
    parser.add_argument(
        "--workers", type=int, action="append", choices=[1, 2], help="Beam workers (repeatable)"
    )
    parser.add_argument("--night", type=int, action="append", help="night N against night 1 (repeatable)")
    parser.add_argument("--night-events", type=int, default=50_000, help="events a day in --night mode")
    parser.add_argument("--repeat", type=int, default=2, help="rounds; every round is printed")
    parser.add_argument(
        "--out", default="/tmp/microradar-bench-nightly", help="work directory (outside the repo)"
    )
    args = parser.parse_args(argv)
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("PREFECT_HOME", str(out / "prefect"))
    warm_up(out)
    if args.night:
        rows = [row for n in args.night for row in bench_night(n, out, args.night_events, args.repeat)]
        print_nights(rows, args.night_events)
    if args.events or not args.night:
        rows = [
            row
            for events in args.events or [2_000_000]
            for row in bench_size(events, out, args.workers or [1], args.repeat)
        ]
        print_sizes(rows)


if __name__ == "__main__":
    main()
