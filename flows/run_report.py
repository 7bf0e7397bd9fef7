"""The run report: accounting of every input line, rejects by reason, durations, top rising. Pure."""

from __future__ import annotations


def accounting(line_stats: dict) -> dict:
    """SPEC section 2: lines_read = accepted + duplicates + rejected + blank, checked, not assumed."""
    rejected = sum(line_stats.get("rejected", {}).values())
    counts = {
        "lines_read": line_stats.get("lines_read", 0),
        "accepted": line_stats.get("accepted", 0),
        "duplicates": line_stats.get("duplicates", 0),
        "conflicting_duplicates": line_stats.get("conflicting_duplicates", 0),
        "rejected": rejected,
        "rejected_by_reason": dict(sorted(line_stats.get("rejected", {}).items())),
        "blank": line_stats.get("blank", 0),
    }
    counts["identity_holds"] = counts["lines_read"] == (
        counts["accepted"] + counts["duplicates"] + counts["rejected"] + counts["blank"]
    )
    return counts


def format_top_rising(rows: list[dict]) -> str:
    if not rows:
        return "No rising micro influencers on this day."
    lines = []
    for i, r in enumerate(rows, 1):
        lines.append(
            f"{i:>2}. {r['platform']}/{r['profile_id']}  {r['followers']:,} followers ({r['tier']})  score {r['rising_score']:.1f}"
        )
        lines.extend(f"      - {reason}" for reason in r["rising_reasons"])
    return "\n".join(lines)
