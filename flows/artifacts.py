"""The run report as Prefect artifacts, shown on the run's page: a markdown summary and tables
(counts, rejects by reason, durations, top rising with reasons, freshness). The builders are pure
(a run report dict in, markdown or rows out); `publish_artifacts` hands them to Prefect.

Keys are stable, so each artifact's history across nights is one list in the Prefect UI.
"""

from __future__ import annotations

from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact

KEY = "microradar-{kind}"
COUNTS = ("lines_read", "accepted", "duplicates", "conflicting_duplicates", "rejected", "blank")


def summary_markdown(report: dict) -> str:
    c = report["counts"]
    lines = [
        f"# microradar night {report['as_of']}",
        "",
        f"Run `{report['run_id']}`, started {report['started_at']}.",
        "",
    ]
    warnings = report.get("warnings", [])
    if warnings:
        lines += ["## Warnings", ""] + [f"- **{w['check']}**: {w['message']}" for w in warnings] + [""]
    else:
        lines += ["No warnings: new files landed and the volume is as usual.", ""]
    f = report["files"]
    lines += [
        f"**Files**: {f['new']} new, {f['changed']} changed, {f['already_ingested']} already ingested.",
        "",
        f"**Lines**: {c['lines_read']:,} read = {c['accepted']:,} accepted + {c['duplicates']:,} duplicates"
        f" + {c['rejected']:,} rejected + {c['blank']:,} blank"
        f" ({'holds' if c['identity_holds'] else '**does not hold**'}).",
        "",
    ]
    if report.get("windows_recomputed_from"):
        lines += [
            f"**Windows** recomputed from {report['windows_recomputed_from']} to {report['as_of']}.",
            "",
        ]
    lines += [f"## Top rising micro influencers on {report['as_of']}", ""]
    if not report["top_rising"]:
        lines += ["None on this day.", ""]
    for i, r in enumerate(report["top_rising"], 1):
        lines.append(
            f"{i}. **{r['platform']}/{r['profile_id']}**: {r['followers']:,} followers ({r['tier']}),"
            f" score {r['rising_score']:.1f}"
        )
        lines += [f"    - {reason}" for reason in r["rising_reasons"]]
    lines += ["", "## Outputs", ""] + [f"- {name}: `{path}`" for name, path in report["outputs"].items()]
    if report.get("report_path"):
        lines.append(f"- run report: `{report['report_path']}`")
    return "\n".join(lines) + "\n"


def counts_rows(report: dict) -> list[dict]:
    return [{"measure": k, "value": report["counts"][k]} for k in COUNTS] + [
        {"measure": "identity_holds", "value": report["counts"]["identity_holds"]}
    ]


def rejects_rows(report: dict) -> list[dict]:
    return [{"reason": k, "lines": v} for k, v in report["counts"]["rejected_by_reason"].items()]


def durations_rows(report: dict) -> list[dict]:
    memory = report.get("peak_rss_mb", {})  # a backfill's report has none
    return [{"step": k, "seconds": v, "peak_rss_mb": memory.get(k)} for k, v in report["durations_s"].items()]


def top_rising_rows(report: dict) -> list[dict]:
    return [
        {
            "rank": i,
            "platform": r["platform"],
            "profile_id": r["profile_id"],
            "tier": r["tier"],
            "followers": r["followers"],
            "rising_score": round(r["rising_score"], 1),
            "reasons": "; ".join(r["rising_reasons"]),
        }
        for i, r in enumerate(report["top_rising"], 1)
    ]


def freshness_rows(report: dict) -> list[dict]:
    warned = {w["check"]: w["message"] for w in report.get("warnings", [])}
    base = report.get("volume_baseline", {})
    f = report["files"]
    return [
        {
            "check": "freshness",
            "status": "warning" if "freshness" in warned else "ok",
            "detail": warned.get("freshness", f"{f['new']} new and {f['changed']} changed files landed"),
        },
        {
            "check": "volume",
            "status": "warning" if "volume" in warned else "ok",
            "detail": warned.get(
                "volume",
                f"{report['counts']['lines_read']:,} lines read; median of the last "
                f"{base.get('nights', 0)} nights {base.get('median_lines_read') or 0:,.0f}",
            ),
        },
    ]


TABLES = {
    "counts": (
        counts_rows,
        "Every line read, accounted for: lines read = accepted + duplicates + rejected + blank",
    ),
    "rejects": (rejects_rows, "Rejected lines by reason (the lines are in the `rejected` dataset)"),
    "durations": (durations_rows, "Wall time of each step, seconds, and the peak memory (MiB) when it ended"),
    "top-rising": (top_rising_rows, "Top rising micro influencers, with the reasons they qualify"),
    "freshness": (freshness_rows, "Freshness and volume checks"),
}


@task
def publish_artifacts(report: dict) -> list[str]:
    """The markdown summary and the tables, attached to the current flow run. Returns their keys."""
    keys = [KEY.format(kind="summary")]
    create_markdown_artifact(
        summary_markdown(report), key=keys[0], description=f"microradar night {report['as_of']}: summary"
    )
    for kind, (rows, description) in TABLES.items():
        keys.append(KEY.format(kind=kind))
        create_table_artifact(rows(report), key=keys[-1], description=description)
    return keys
