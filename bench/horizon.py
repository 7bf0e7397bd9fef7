"""History horizon benchmark (SPEC section 5, issue 15): the cost of a night follows the events
and profile-days it touches, not the calendar span.

The same 3,000 events (posts, likes with and without actors, post_metrics counters, follows,
profile snapshots of 30 profiles) are landed twice: spread over 15 years, and within one month.
Each landing is run through the whole `microradar nightly` command in a fresh process (Prefect,
both Beam pipelines, the SQL layer, the report), and its wall time and peak RSS (the process's
and its children's, from wait4) are printed side by side. Measures only: exit status 0.

    .venv/bin/python -m bench.horizon [--events 3000] [--out /tmp/horizonbench] [--repeat 1]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

AS_OF = date(2026, 11, 30)


def events(n: int, span_days: int, seed: int = 7) -> list[dict]:
    """n events of 30 profiles; times spread uniformly over the `span_days` days ending AS_OF.
    The same seed gives the same events (ids, kinds, actors, counts) whatever the span."""
    rng = random.Random(seed)
    end = datetime(AS_OF.year, AS_OF.month, AS_OF.day, 23, 0, tzinfo=UTC)
    out, posts = [], []
    for i in range(n):
        fraction = rng.random()
        when = end - timedelta(seconds=int(fraction * span_days * 86_400))
        profile = f"creator{rng.randint(0, 29)}"
        base = {
            "event_id": f"h{i}",
            "event_time": when.isoformat().replace("+00:00", "Z"),
            "platform": "x",
            "profile_id": profile,
            "schema_version": 2,
        }
        roll = rng.random()
        if roll < 0.15 or not posts:
            post = f"{profile}-p{i}"
            posts.append((profile, post))
            out.append(base | {"event_type": "post", "post_id": post})
            continue
        author, post = rng.choice(posts)
        base["profile_id"] = author
        if roll < 0.55:
            kind = rng.choice(["like", "comment", "share", "save"])
            actor = rng.choice([None, f"fan{rng.randint(0, 400)}"])
            out.append(base | {"event_type": kind, "post_id": post} | ({"actor_id": actor} if actor else {}))
        elif roll < 0.80:
            out.append(
                base
                | {
                    "event_type": "post_metrics",
                    "post_id": post,
                    "likes": rng.randint(0, 5000),
                    "views": rng.randint(0, 90_000),
                }
            )
        elif roll < 0.90:
            out.append(base | {"event_type": "follow", "actor_id": f"fan{rng.randint(0, 400)}"})
        else:
            out.append(base | {"event_type": "profile_snapshot", "followers": rng.randint(5_000, 60_000)})
    # counters only grow with time (as on real platforms; SQL audits hold 28-day interactions >= 0)
    for post_events in _by_post(e for e in out if e["event_type"] == "post_metrics").values():
        likes = views = 0
        for e in sorted(post_events, key=lambda e: e["event_time"]):
            likes, views = likes + rng.randint(0, 200), views + rng.randint(0, 5000)
            e["likes"], e["views"] = likes, views
    return out


def _by_post(metrics) -> dict:
    grouped: dict = {}
    for e in metrics:
        grouped.setdefault(e["post_id"], []).append(e)
    return grouped


def run_nightly(landing: Path, warehouse: Path) -> tuple[float, float]:
    """The whole `microradar nightly` command; (wall seconds, peak RSS MiB of it and its children)."""
    cli = Path(sys.executable).with_name("microradar")
    command = [
        str(cli),
        "nightly",
        "--landing",
        str(landing),
        "--warehouse",
        str(warehouse),
        "--as-of",
        AS_OF.isoformat(),
    ]
    clock = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - clock
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise SystemExit(f"nightly failed ({process.returncode}): {process.stderr.read().decode()[-2000:]}")
    return seconds, usage.ru_maxrss / 1024  # Linux: KiB


def partitions(warehouse: Path, dataset: str) -> int:
    root = warehouse / dataset
    return sum(1 for p in root.glob("*=*") if p.is_dir()) if root.exists() else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--out", default="/tmp/horizonbench")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args(argv)
    out = Path(args.out)
    shutil.rmtree(out, ignore_errors=True)
    results = {}
    for label, span in (("15 years", 15 * 365), ("one month", 30)):
        landing = out / label.replace(" ", "-") / "landing"
        landing.mkdir(parents=True)
        (landing / "events.jsonl").write_text(
            "\n".join(json.dumps(e) for e in events(args.events, span)) + "\n"
        )
        runs = []
        for r in range(args.repeat):
            warehouse = out / label.replace(" ", "-") / f"wh{r}"
            runs.append(run_nightly(landing, warehouse))
        seconds = min(s for s, _ in runs)
        rss = max(m for _, m in runs)
        results[label] = (
            seconds,
            rss,
            {
                d: partitions(warehouse, d)
                for d in ("events", "engagement_daily", "engagement_trailing", "profile_daily")
            },
        )
    print(f"{args.events:,} events, `microradar nightly` as of {AS_OF}, best of {args.repeat}:")
    print(
        f"{'span':<10} {'wall s':>8} {'peak RSS MiB':>13}  partitions (events / daily / trailing / profile_daily)"
    )
    for label, (seconds, rss, parts) in results.items():
        print(f"{label:<10} {seconds:>8.1f} {rss:>13.0f}  {' / '.join(str(v) for v in parts.values())}")
    (a, ra, _), (b, rb, _) = results.values()
    print(f"ratio 15 years / one month: wall {a / b:.2f}x, peak RSS {ra / rb:.2f}x (target within 1.5x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
