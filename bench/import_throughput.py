"""Import throughput: `microradar import x-api` on a generated X-pages file vs plain `json.loads`.

    .venv/bin/python -m bench.import_throughput                # 1 GB (the issue's size)
    .venv/bin/python -m bench.import_throughput --size 200MB --out /tmp/bench-import

Generates seeded X API v2 search pages (100 tweets each with includes.users, replies, quotes,
retweets, an errors object now and then, `__twarc.retrieved_at`), one page per line, then runs each
side in its own process and reads that process's own peak RSS with os.wait4. The baseline parses
the same lines with `json.loads` and does nothing else: the floor any importer stands on. Timings
are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

BASELINE = """
import json, sys
pages = records = 0
with open(sys.argv[1], 'rb') as fh:
    for line in fh:
        if line.strip():
            page = json.loads(line)
            pages += 1
            records += len(page.get('data', [])) + len(page.get('includes', {}).get('users', []))
print(pages, records)
"""


def parse_size(text: str) -> int:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([KMG]?B?)", text.strip().upper())
    if not m:
        raise argparse.ArgumentTypeError(f"not a size (e.g. 200MB, 1GB): {text!r}")
    unit = {"": 1, "B": 1, "K": 1e3, "KB": 1e3, "M": 1e6, "MB": 1e6, "G": 1e9, "GB": 1e9}[m.group(2)]
    return int(float(m.group(1)) * unit)


def _tweet(
    rng: random.Random, tid: int, author: int, created: datetime, recent: list[tuple[int, int]]
) -> dict:
    tweet = {
        "id": str(tid),
        "author_id": str(author),
        "created_at": created.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "lang": rng.choice(["en", "en", "de", "fr", "und"]),
        "conversation_id": str(tid),
        "text": "baking day " + " ".join(f"#tag{rng.randrange(50)}" for _ in range(rng.randrange(3))),
        "entities": {"hashtags": [{"start": 0, "end": 5, "tag": f"tag{rng.randrange(50)}"}]},
        "public_metrics": {
            "retweet_count": rng.randrange(50),
            "reply_count": rng.randrange(20),
            "like_count": rng.randrange(500),
            "quote_count": rng.randrange(5),
            "bookmark_count": rng.randrange(10),
            "impression_count": rng.randrange(20000),
        },
    }
    roll = rng.random()
    if recent and roll < 0.15:
        ref, ref_author = rng.choice(recent)
        tweet.update(
            referenced_tweets=[{"type": "replied_to", "id": str(ref)}], in_reply_to_user_id=str(ref_author)
        )
    elif recent and roll < 0.20:
        tweet["referenced_tweets"] = [{"type": "quoted", "id": str(rng.choice(recent)[0])}]
    elif recent and roll < 0.35:
        tweet["referenced_tweets"] = [{"type": "retweeted", "id": str(rng.choice(recent)[0])}]
    return tweet


def generate(path: Path, size: int, seed: int = 7) -> tuple[int, int]:
    """Write X pages until the file reaches `size` bytes; returns (pages, tweets)."""
    rng = random.Random(seed)
    start = datetime(2026, 10, 1, tzinfo=UTC)
    written = pages = tweets = 0
    tid = 1_800_000_000_000_000_000
    with open(path, "w", encoding="utf-8") as fh:
        while written < size:
            retrieved = start + timedelta(minutes=pages)
            data, recent = [], []
            for _ in range(100):
                tid += rng.randrange(1, 1000)
                author = rng.randrange(1, 20_000)
                data.append(
                    _tweet(rng, tid, author, retrieved - timedelta(hours=rng.randrange(1, 72)), recent)
                )
                recent.append((tid, author))
            authors = {int(t["author_id"]) for t in data}
            page = {
                "data": data,
                "includes": {
                    "users": [
                        {
                            "id": str(a),
                            "username": f"user{a}",
                            "name": f"User {a}",
                            "public_metrics": {
                                "followers_count": rng.randrange(100, 60_000),
                                "following_count": rng.randrange(1000),
                                "tweet_count": rng.randrange(10_000),
                            },
                        }
                        for a in sorted(authors)
                    ],
                    "tweets": data[:5],
                },
                "meta": {"result_count": 100, "next_token": f"t{pages}"},
                "__twarc": {
                    "url": "https://api.twitter.com/2/tweets/search/recent",
                    "version": "2.14.0",
                    "retrieved_at": retrieved.isoformat(),
                },
            }
            if pages % 10 == 0:
                page["errors"] = [
                    {
                        "value": "1",
                        "detail": "Could not find tweet with ids: [1].",
                        "title": "Not Found Error",
                        "type": "https://api.twitter.com/2/problems/resource-not-found",
                    }
                ]
            line = json.dumps(page, separators=(",", ":")) + "\n"
            fh.write(line)
            written += len(line.encode())
            pages += 1
            tweets += len(data)
    return pages, tweets


def measure(cmd: list[str]) -> dict:
    """Wall time and the child's own peak RSS (os.wait4 gives that one process's rusage)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ})
    out = proc.stdout.read()
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{cmd[0]} failed: {err.decode()[-500:]}")
    return {
        "wall_s": wall,
        "peak_rss_mb": usage.ru_maxrss / 1024,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "stdout": out.decode(),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--size", type=parse_size, default=parse_size("1GB"), help="input size, e.g. 200MB (default 1GB)"
    )
    ap.add_argument(
        "--out", type=Path, default=Path("/tmp/bench-import"), help="work directory (outside the repo)"
    )
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--keep", action="store_true", help="keep the generated input and the landing output")
    args = ap.parse_args(argv)

    args.out.mkdir(parents=True, exist_ok=True)
    src, landing = args.out / "x_pages.jsonl", args.out / "landing"
    shutil.rmtree(landing, ignore_errors=True)
    t0 = time.perf_counter()
    pages, tweets = generate(src, args.size, args.seed)
    print(
        f"generated {src} ({src.stat().st_size / 1e6:,.0f} MB, {pages:,} pages, {tweets:,} tweets) "
        f"in {time.perf_counter() - t0:.1f}s"
    )

    base = measure([sys.executable, "-c", BASELINE, str(src)])
    base_pages, base_records = map(int, base["stdout"].split())
    microradar = str(Path(sys.executable).parent / "microradar")
    imp = measure([microradar, "import", "x-api", "--out", str(landing), "--json", str(src)])
    summary = json.loads(imp["stdout"])
    out_mb = sum(p.stat().st_size for p in landing.glob("*.jsonl")) / 1e6

    records = summary["records"]
    print(f"\n{'':24}{'json.loads baseline':>22}{'microradar import':>22}")
    print(f"{'input pages':24}{base_pages:>22,}{summary['lines']:>22,}")
    print(f"{'records':24}{base_records:>22,}{records:>22,}")
    print(f"{'events written':24}{'-':>22}{summary['events_written']:>22,}")
    print(f"{'wall time (s)':24}{base['wall_s']:>22.1f}{imp['wall_s']:>22.1f}")
    print(f"{'cpu time (s)':24}{base['cpu_s']:>22.1f}{imp['cpu_s']:>22.1f}")
    print(f"{'records/s':24}{base_records / base['wall_s']:>22,.0f}{records / imp['wall_s']:>22,.0f}")
    print(
        f"{'MB/s of input':24}{args.size / 1e6 / base['wall_s']:>22.1f}{args.size / 1e6 / imp['wall_s']:>22.1f}"
    )
    print(f"{'peak RSS (MB)':24}{base['peak_rss_mb']:>22.0f}{imp['peak_rss_mb']:>22.0f}")
    print(
        f"\nimport: {summary['imported']:,} imported, skipped {summary['skipped']}, rejected {summary['rejected']}; "
        f"output {out_mb:,.0f} MB; import/baseline wall {imp['wall_s'] / base['wall_s']:.2f}x"
    )
    if not args.keep:
        src.unlink()
        shutil.rmtree(landing, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
