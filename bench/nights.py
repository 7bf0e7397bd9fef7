"""Does a night cost follow the new data or the history? (issue: incremental nights)

    .venv/bin/python -m bench.nights [--profiles 200] [--history-days 60] [--out /tmp/microradar-nights]

Generates `history-days + 1` days of events, then in one process:
  1. history: a warehouse ingests the first `history-days` landed days, a night each (or in one
     run with --bulk-history: equal results, by tests/e2e/test_incremental.py; compaction leaves
     one file per partition either way);
  2. first night: an empty warehouse ingests the very files night N+1 will ingest (the baseline:
     the same new events, no history);
  3. night N+1: the history warehouse ingests the next landed day (the same new events).
The first night and night N+1 alternate `--repeat` times (night N+1 on the history restored in
place each time); the medians are compared. Prints wall seconds, events, events/s and peak RSS,
the ratio night N+1 / first night, and the same ratio for the flow's own work.
Timings are measured, never asserted.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import time
from datetime import date
from pathlib import Path

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _timed_night(nightly, landing: Path, wh: Path, as_of: date, num_buckets: int | None = None) -> dict:
    os.sync()  # a restored warehouse's pages reach the disk before the clock starts, not during the night
    clock = time.perf_counter()
    report = nightly(
        str(landing), str(wh), as_of=as_of, beam_args=["--runner=FnApiRunner"], num_buckets=num_buckets
    )
    seconds = time.perf_counter() - clock
    return {"seconds": seconds, "lines": report["counts"]["lines_read"], "report": report}


def _median(runs: list[dict]) -> dict:
    """The run of median wall time, with every wall time and the median of the flow's own work."""
    work = sorted(r["report"]["durations_s"]["total"] for r in runs)
    by_wall = sorted(runs, key=lambda r: r["seconds"])
    return {**by_wall[len(runs) // 2], "all": [r["seconds"] for r in runs], "work": work[len(work) // 2]}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", type=int, default=200)
    parser.add_argument("--history-days", type=int, default=60)
    parser.add_argument("--out", default="/tmp/microradar-nights")
    parser.add_argument(
        "--bulk-history",
        action="store_true",
        help="build the history in one run (faster; the same files: compaction leaves one per partition)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="runs of the first night and of night N+1, each on a fresh copy; the median is shown",
    )
    args = parser.parse_args(argv)

    from flows.nightly import nightly
    from pipelines.batch import buckets_for
    from tools.generator import generate_landing

    out = Path(args.out)
    shutil.rmtree(out, ignore_errors=True)
    summary = generate_landing(out / "gen", profiles=args.profiles, days=args.history_days + 1)
    days = sorted(p.name for p in summary.landing_dir.iterdir())
    # The generator may land late files one day after its last day: that day belongs to night N+1.
    history, new_night = days[: args.history_days], days[args.history_days :]

    def land(target: Path, names: list[str]) -> None:
        target.mkdir(parents=True, exist_ok=True)
        for name in names:
            shutil.copytree(summary.landing_dir / name, target / name)

    land(out / "first" / "landing", new_night)
    warm = _timed_night(
        nightly, out / "first" / "landing", out / "warmup" / "wh", summary.end_date
    )  # starts Prefect's local server once
    if args.bulk_history:
        # One run, with the bucket count of a single night.
        night_buckets = buckets_for(
            sum(f.stat().st_size for f in (out / "first" / "landing").rglob("*") if f.is_file())
        )
        land(out / "hist" / "landing", history)
        built = _timed_night(
            nightly,
            out / "hist" / "landing",
            out / "hist" / "wh",
            date.fromisoformat(history[-1]),
            night_buckets,
        )
    else:  # night after night, as production builds it
        nights = []
        for name in history:
            land(out / "hist" / "landing", [name])
            nights.append(
                _timed_night(nightly, out / "hist" / "landing", out / "hist" / "wh", date.fromisoformat(name))
            )
        built = {"seconds": sum(n["seconds"] for n in nights), "lines": sum(n["lines"] for n in nights)}
    land(out / "hist" / "landing", new_night)
    wh, pristine = out / "hist" / "wh", out / "hist" / "wh-before"
    shutil.copytree(wh, pristine)

    # The two nights alternate, so whatever the process accumulates run after run (its heap, the
    # page cache) weighs on both alike. Night N+1 runs on the history restored in place each time
    # (a warehouse keeps its path: the analyst database's views name it); a first night on an
    # empty warehouse of its own.
    first_runs, last_runs = [], []
    for i in range(args.repeat):
        first_runs.append(
            _timed_night(nightly, out / "first" / "landing", out / "runs" / f"first-{i}", summary.end_date)
        )
        shutil.rmtree(wh)
        shutil.copytree(pristine, wh)
        last_runs.append(_timed_night(nightly, out / "hist" / "landing", wh, summary.end_date))
    rss = _peak_rss_mb()
    first, last = _median(first_runs), _median(last_runs)

    print(f"\n{'night':<34}{'lines':>10}{'seconds':>10}{'lines/s':>10}")
    for label, r in (
        ("warm-up (Prefect server start)", warm),
        ("first night (empty warehouse)", first),
        (f"history build ({len(history)} days)", built),
        (f"night {len(history) + 1} (one new day)", last),
    ):
        print(f"{label:<34}{r['lines']:>10,}{r['seconds']:>10.1f}{r['lines'] / r['seconds']:>10,.0f}")
    steps = lambda r: ", ".join(f"{k} {v:.1f}s" for k, v in r["report"]["durations_s"].items())  # noqa: E731
    print(
        f"\nfirst night runs: {', '.join(f'{x:.1f}' for x in first['all'])} s; "
        f"night {len(history) + 1} runs: {', '.join(f'{x:.1f}' for x in last['all'])} s (medians above)"
    )
    print(f"first night steps:  {steps(first)}")
    print(f"night {len(history) + 1} steps:    {steps(last)}")
    print(
        f"night {len(history) + 1} touched {len(last['report']['touched_event_dates'])} event dates; "
        f"windows recomputed from {last['report']['windows_recomputed_from']}"
    )
    print(f"peak RSS of this process: {rss:,.0f} MB")
    ratio = last["seconds"] / first["seconds"]
    per_line = (last["seconds"] / last["lines"]) / (first["seconds"] / first["lines"])
    print(f"ratio night {len(history) + 1} / first night: {ratio:.2f}x wall, {per_line:.2f}x per new line")
    # Wall time includes Prefect's engine: its flow heartbeat thread is joined at the end and sleeps
    # in whole seconds, so walls land on whole seconds. The flow's own work is timed inside it.
    print(
        f"the flow's own work (median): first night {first['work']:.2f} s, night {len(history) + 1} "
        f"{last['work']:.2f} s: {last['work'] / first['work']:.2f}x"
    )


if __name__ == "__main__":
    main()
