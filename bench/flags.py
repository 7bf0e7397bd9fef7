"""Flag benchmark: precision and recall of `is_rising` / `is_suspicious` against the generator's
planted ground truth.

For every seed and size (profiles x days): generate a landing directory, run the nightly flow on
it (as of the generator's end_date), join `profile_daily` on end_date with `ground_truth.csv` and
count true/false positives and negatives of both flags. Every miss is printed with the columns that
decide the flags and the rules it passes or fails, so a developer sees why. Measures only: no
assertions, exit status 0 whatever the numbers.

    .venv/bin/python -m bench.flags [--seeds 1 2 3 4 5] [--sizes 60x40 200x60] [--out /tmp/flagbench]
                                    [--mode events|observation|mixed]

`--mode observation` generates platforms that deliver what real APIs give (post counters, follower
counts rounded to 3 significant figures and read every 3, 7 or 30 days): tools/generator.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

# Prefect reads these at import time: set them before anything imports prefect.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

import duckdb  # noqa: E402

KEY_COLUMNS = (
    "tier",
    "followers_28d_ago",
    "followers",
    "followers_observed_at",
    "followers_precision",
    "followers_stale",
    "signal_window_days",
    "follower_growth_pct_28d",
    "growth_observed_days",
    "follower_growth_pct_14d",
    "peer_median_growth_pct_28d",
    "growth_vs_peers",
    "engagement_rate_28d",
    "peer_median_engagement_rate_28d",
    "per_post_growth_pct_28d",
    "posts_28d",
    "posts_vs_platform",
    "max_daily_gain_share",
    "max_daily_gain_vs_baseline",
    "projected_followers",
    "is_rising",
    "is_suspicious",
    "rising_reasons",
    "suspicious_reasons",
)
# Columns only the intermediate models carry (recomputed read-only for the diagnosis of misses).
SCREEN_COLUMNS = ("max_jump_pct", "has_jump", "engagement_flat", "interactions_prev_28d")


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None


@dataclass
class RunResult:
    seed: int
    size: str
    events: int
    seconds: float
    rising: Counts = field(default_factory=Counts)
    suspicious: Counts = field(default_factory=Counts)
    misses: list[dict] = field(default_factory=list)
    error: str | None = None


def parse_size(text: str) -> tuple[int, int]:
    profiles, _, days = text.lower().partition("x")
    return int(profiles), int(days)


def read_ground_truth(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as f:
        return [
            {
                **row,
                "expected_rising": row["expected_rising"] == "true",
                "expected_suspicious": row["expected_suspicious"] == "true",
            }
            for row in csv.DictReader(f)
        ]


def read_profile_daily(warehouse: Path, day: date) -> dict[tuple[str, str], dict]:
    glob = str(warehouse / "profile_daily" / "*" / "*.parquet")
    con = duckdb.connect()
    try:
        cur = con.execute(
            f"select platform, profile_id, {', '.join(KEY_COLUMNS)} "
            "from read_parquet(?, hive_partitioning = true) where day = ?",
            [glob, day],
        )
        names = [d[0] for d in cur.description]
        return {(r[0], r[1]): dict(zip(names, r)) for r in cur.fetchall()}
    finally:
        con.close()


def read_screening(warehouse: Path, day: date) -> dict[tuple[str, str], dict]:
    """The suspicious screen's own columns on `day`, recomputed read-only from the SQL models
    (profile_daily does not publish max_jump_pct / has_jump / engagement_flat)."""
    from schemas import config as cfg
    from schemas.datasets import PROFILE_DAILY
    from storage import sql_layer
    from storage.duck import connect
    from storage.warehouse import Warehouse

    con = connect()
    try:
        sql_layer.load_config(con, cfg.DEFAULT, day)
        sql_layer.create_dataset_views(con, Warehouse.at(str(warehouse)), skip=(PROFILE_DAILY.name,))
        for _, name, sql in sql_layer.models_in_order("int_profiles_days_screened"):
            con.execute(f"create or replace temp view {name} as {sql}")
        cur = con.execute(
            f"select platform, profile_id, {', '.join(SCREEN_COLUMNS)} "
            "from int_profiles_days_screened where day = ?",
            [day],
        )
        names = [d[0] for d in cur.description]
        return {(r[0], r[1]): dict(zip(names, r)) for r in cur.fetchall()}
    finally:
        con.close()


def _cmp(value, op: str, limit) -> bool | None:
    if value is None:
        return None
    return value >= limit if op == ">=" else value < limit


def rule_checks(row: dict) -> tuple[list[str], list[str]]:
    """(rising rules, suspicious rules), each rendered 'ok'/'FAIL'/'null' with the numbers,
    mirroring sql/marts/profile_daily.sql and sql/intermediate/int_profiles_days_screened.sql."""
    from schemas import config as cfg

    r, s = cfg.DEFAULT.rising, cfg.DEFAULT.spike
    micro_floor = min(t.min_followers for t in cfg.DEFAULT.tiers if t.name == "micro")

    def fmt(v) -> str:
        if v is None:
            return "null"
        if isinstance(v, float):
            return f"{v:.3f}"
        return str(v)

    def rule(name: str, value, op: str, limit) -> str:
        ok = _cmp(value, op, limit)
        mark = "null" if ok is None else ("ok" if ok else "FAIL")
        return f"{mark}: {name} {fmt(value)} {op} {fmt(limit)}"

    window = row.get("signal_window_days")
    g = row.get("follower_growth_pct_28d") if window != 14 else row.get("follower_growth_pct_14d")
    share = (window or 28) / 28
    rising = [
        f"{'ok' if window else 'FAIL'}: signal window {window} days"
        + (" (followers stale)" if row.get("followers_stale") else "")
    ]
    if row.get("tier") == "nano":
        rising.append(rule("nano followers", row.get("followers"), ">=", r.nano_min_followers))
        rising.append(rule("projected", row.get("projected_followers"), ">=", micro_floor))
        rising.append(rule("growth", g, ">=", r.nano_min_growth_pct_28d * share))
    elif row.get("tier") == "micro":
        rising.append(rule("growth", g, ">=", r.min_growth_pct_28d * share))
    else:
        rising.append(f"FAIL: tier {row.get('tier')} is neither micro nor nano")
    gvp = row.get("growth_vs_peers")
    rising.append(
        "ok: growth_vs_peers null (peer median <= 0)"
        if gvp is None
        else rule("growth_vs_peers", gvp, ">=", r.min_growth_vs_peers)
    )
    er, er_peer = row.get("engagement_rate_28d"), row.get("peer_median_engagement_rate_28d")
    evp = er / er_peer if er is not None and er_peer else None
    rising.append(rule("engagement_vs_peers", evp, ">=", r.min_engagement_vs_peers))
    rising.append(
        rule("per_post_growth", row.get("per_post_growth_pct_28d"), ">=", r.min_per_post_growth_pct_28d)
    )
    rising.append(rule("posts_vs_platform", row.get("posts_vs_platform"), ">=", r.min_posts_vs_platform))
    if "has_jump" in row:
        rising.append(("FAIL" if row["has_jump"] else "ok") + f": has_jump {row['has_jump']} (must be false)")
    rising.append(
        ("FAIL" if row.get("is_suspicious") else "ok") + f": is_suspicious {row.get('is_suspicious')}"
    )

    suspicious = [
        rule("max_jump_pct", row.get("max_jump_pct"), ">=", s.min_jump_pct)
        if "max_jump_pct" in row
        else "n/a: max_jump_pct not recomputed",
        rule("jump_vs_baseline", row.get("max_daily_gain_vs_baseline"), ">=", s.min_jump_vs_baseline),
        rule("jump_share_of_growth", row.get("max_daily_gain_share"), ">=", s.min_jump_share_of_growth),
    ]
    pp = row.get("per_post_growth_pct_28d")
    limit = s.max_interaction_growth_share * g if g is not None else None
    if pp is None or limit is None:
        suspicious.append(
            f"{'ok' if row.get('engagement_flat') else 'FAIL'}: engagement_flat unknown "
            f"(no engagement to compare; interactions_prev_28d {fmt(row.get('interactions_prev_28d'))})"
        )
    else:
        suspicious.append(
            rule(f"per_post_growth (flat if < {s.max_interaction_growth_share} x growth)", pp, "<", limit)
        )
    return rising, suspicious


def run_one(
    seed: int,
    size: str,
    out_root: Path,
    nightly,
    generate_landing,
    beam_args: list[str],
    mode: str = "events",
) -> RunResult:
    profiles, days = parse_size(size)
    run_dir = out_root / f"{mode}_seed{seed}_{size}"
    shutil.rmtree(run_dir, ignore_errors=True)
    started = time.perf_counter()
    summary = generate_landing(run_dir / "gen", profiles=profiles, days=days, seed=seed, mode=mode)
    result = RunResult(seed, size, summary.events_generated, 0.0)
    warehouse = run_dir / "warehouse"
    try:
        nightly(
            landing_dir=str(summary.landing_dir),
            warehouse_dir=str(warehouse),
            as_of=summary.end_date,
            beam_args=beam_args,
        )
    except Exception as exc:  # a benchmark reports, it does not stop the other runs
        result.error = f"{type(exc).__name__}: {exc}"
        result.seconds = time.perf_counter() - started
        return result
    result.seconds = time.perf_counter() - started

    flags = read_profile_daily(warehouse, summary.end_date)
    screen: dict = {}
    for truth in read_ground_truth(summary.ground_truth_path):
        key = (truth["platform"], truth["profile_id"])
        row = flags.get(key)
        got_rising = bool(row and row["is_rising"])
        got_suspicious = bool(row and row["is_suspicious"])
        kinds = []
        for name, counts, expected, got in (
            ("rising", result.rising, truth["expected_rising"], got_rising),
            ("suspicious", result.suspicious, truth["expected_suspicious"], got_suspicious),
        ):
            if expected and got:
                counts.tp += 1
            elif got:
                counts.fp += 1
                kinds.append(f"{name} FP")
            elif expected:
                counts.fn += 1
                kinds.append(f"{name} FN")
        if kinds:
            if not screen:
                try:
                    screen = read_screening(warehouse, summary.end_date) or {"": {}}
                except Exception as exc:
                    print(f"  (could not recompute the screen columns: {exc})", file=sys.stderr)
                    screen = {"": {}}
            result.misses.append({"kinds": kinds, "truth": truth, "row": row, "screen": screen.get(key)})
    return result


def pct(value: float | None) -> str:
    return "  n/a" if value is None else f"{100 * value:5.1f}"


def fmt_value(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        return "[" + "; ".join(str(v) for v in value) + "]" if value else "[]"
    return str(value)


def print_table(results: list[RunResult]) -> None:
    header = (
        f"{'seed':>4}  {'size':>7}  {'rising P':>8}  {'rising R':>8}  {'susp P':>8}  {'susp R':>8}  "
        f"{'rising TP/FP/FN':>15}  {'susp TP/FP/FN':>13}  {'events':>8}  {'seconds':>7}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        if r.error:
            print(f"{r.seed:>4}  {r.size:>7}  ERROR {r.error}  ({r.events} events, {r.seconds:.1f} s)")
            continue
        print(
            f"{r.seed:>4}  {r.size:>7}  {pct(r.rising.precision):>8}  {pct(r.rising.recall):>8}  "
            f"{pct(r.suspicious.precision):>8}  {pct(r.suspicious.recall):>8}  "
            f"{r.rising.tp:>5}/{r.rising.fp}/{r.rising.fn:<5}  "
            f"{r.suspicious.tp:>5}/{r.suspicious.fp}/{r.suspicious.fn:<5}  {r.events:>8}  {r.seconds:>7.1f}"
        )
    ok = [r for r in results if not r.error]

    def minimum(values):
        values = [v for v in values if v is not None]
        return min(values) if values else None

    if ok:
        print("-" * len(header))
        print(
            f"{'min':>4}  {'all':>7}  {pct(minimum(r.rising.precision for r in ok)):>8}  "
            f"{pct(minimum(r.rising.recall for r in ok)):>8}  "
            f"{pct(minimum(r.suspicious.precision for r in ok)):>8}  "
            f"{pct(minimum(r.suspicious.recall for r in ok)):>8}  "
            f"{'':>15}  {'':>13}  {min(r.events for r in ok):>8}  {min(r.seconds for r in ok):>7.1f}"
        )


def print_misses(results: list[RunResult]) -> None:
    misses = [(r, m) for r in results for m in r.misses]
    print()
    if not misses:
        print("No false positives or false negatives.")
        return
    print(f"Misses ({len(misses)}):")
    for r, m in misses:
        t, row = m["truth"], m["row"]
        print(
            f"\n[seed {r.seed} {r.size}] {', '.join(m['kinds'])}: {t['platform']}/{t['profile_id']} "
            f"archetype={t['archetype']} tier_at_end={t['tier_at_end']} "
            f"truth followers {t['followers_start']} -> {t['followers_end']}"
        )
        if row is None:
            print("    no profile_daily row on end_date")
            continue
        for name in KEY_COLUMNS:
            print(f"    {name:<34} {fmt_value(row[name])}")
        full = {**row, **(m["screen"] or {})}
        for name in SCREEN_COLUMNS:
            if name in full:
                print(f"    {name + ' (screen)':<34} {fmt_value(full[name])}")
        rising, suspicious = rule_checks(full)
        print("    rising rules:     " + " | ".join(rising))
        print("    suspicious rules: " + " | ".join(suspicious))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.flags", description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    parser.add_argument(
        "--sizes",
        nargs="+",
        default=["60x40", "200x60"],
        help="profiles x days, e.g. 60x40 (default: 60x40 200x60)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("/tmp/flagbench"),
        help="work directory; each run's landing and warehouse are replaced",
    )
    parser.add_argument(
        "--mode",
        choices=("events", "observation", "mixed"),
        default="events",
        help="what the generated platforms deliver (tools/generator: events, observation, mixed)",
    )
    parser.add_argument(
        "--beam-arg",
        action="append",
        default=[],
        help="extra Beam pipeline argument, repeatable (e.g. --beam-arg=--runner=FnApiRunner)",
    )
    args = parser.parse_args(argv)
    for size in args.sizes:
        parse_size(size)  # fail fast on a typo, before the Prefect server starts

    args.out.mkdir(parents=True, exist_ok=True)
    # A private Prefect home (its own SQLite database) for this process's temporary server, so that
    # concurrent test or benchmark processes sharing ~/.prefect cannot take the server down mid-run.
    os.environ.setdefault("PREFECT_HOME", str(args.out / "prefect_home"))
    from flows.nightly import nightly
    from tools.generator import generate_landing

    results = []
    for size in args.sizes:
        for seed in args.seeds:
            print(f"... {args.mode} seed {seed} size {size}", file=sys.stderr, flush=True)
            results.append(run_one(seed, size, args.out, nightly, generate_landing, args.beam_arg, args.mode))
    print(f"mode: {args.mode}")
    print_table(results)
    print_misses(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
