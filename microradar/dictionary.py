"""Renders docs/DATA_DICTIONARY.md from `schemas/`, so the documentation cannot drift from the data.

Regenerate with: .venv/bin/python -m microradar.dictionary > docs/DATA_DICTIONARY.md
"""

from __future__ import annotations

import pyarrow as pa

from schemas import events as contract
from schemas.datasets import VIEW_DATASETS


def _type(t: pa.DataType) -> str:
    return "timestamp[us, UTC]" if pa.types.is_timestamp(t) else str(t)


def render() -> str:
    out = [
        "# Data dictionary",
        "",
        "Generated from `schemas/` by `python -m microradar.dictionary`; a test fails when it is stale.",
        "Scores and flags are explained in [SCORES.md](SCORES.md).",
        "",
        "## Input: event contract v1",
        "",
        "| field | type | required | meaning |",
        "|---|---|---|---|",
    ]
    out += [f"| `{f.name}` | {f.kind} | {'yes' if f.required else 'no'} | {f.doc} |" for f in contract.COMMON_FIELDS]
    for event_type, fields in contract.TYPE_FIELDS.items():
        out += ["", f"`{event_type}`:", "", "| field | type | required | meaning |", "|---|---|---|---|"]
        out += [f"| `{f.name}` | {f.kind} | {'yes' if f.required else 'no'} | {f.doc} |" for f in fields]
    out += ["", "Reject reasons (`rejected.reason`):", "", "| reason | meaning |", "|---|---|"]
    out += [f"| `{k}` | {v} |" for k, v in contract.REJECT_REASONS.items()]
    for ds in VIEW_DATASETS:
        out += [
            "",
            f"## `{ds.name}`",
            "",
            f"Grain: {ds.grain}. Path: `<warehouse>/{ds.name}/{ds.partition}=YYYY-MM-DD/*.parquet`.",
            "",
            "| column | type | nullable | meaning |",
            "|---|---|---|---|",
            f"| `{ds.partition}` | date (Hive partition) | no | {ds.partition_doc} |",
        ]
        out += [
            f"| `{f.name}` | {_type(f.type)} | {'yes' if f.nullable else 'no'} | {ds.doc(f.name)} |" for f in ds.schema
        ]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    print(render(), end="")
