"""Write the generated landing directory and the ground-truth file to disk.

The only module of the generator that touches the filesystem.  Output is byte-for-byte
deterministic: files are written in sorted order, gzip members carry no timestamp or
file name, and the CSV has a fixed column order and row order.
"""

from __future__ import annotations

import csv
import gzip
import io
import pathlib

from .archetypes import EXPECTED_RISING, EXPECTED_SUSPICIOUS, ProfilePlan, tier_of
from .dirt import LandedFile

BOM = b"\xef\xbb\xbf"
GROUND_TRUTH_COLUMNS = (
    "platform",
    "profile_id",
    "archetype",
    "tier_at_end",
    "followers_start",
    "followers_end",
    "expected_rising",
    "expected_suspicious",
)


def file_bytes(f: LandedFile) -> bytes:
    """The exact bytes of one landed file (line endings, BOM, gzip applied)."""
    eol = b"\r\n" if f.crlf else b"\n"
    body = eol.join(f.lines()) + eol
    if f.bom:
        body = BOM + body
    if f.extension.endswith(".gz"):
        # mtime=0 and no file name in the header: identical bytes on every run.
        body = gzip.compress(body, compresslevel=6, mtime=0)
    return body


def write_landing(landing_dir: pathlib.Path, files: list[LandedFile]) -> tuple[int, int]:
    """Write ``landing/<YYYY-MM-DD>/<platform>-<n>.<ext>``; return (files, lines)."""
    if landing_dir.exists() and any(landing_dir.iterdir()):
        # Landed files are immutable (SPEC section 2): never mix two generations.
        raise FileExistsError(f"landing directory is not empty: {landing_dir}")
    n_lines = 0
    for f in sorted(files, key=lambda f: (f.day, f.name)):
        day_dir = landing_dir / f.day.isoformat()
        day_dir.mkdir(parents=True, exist_ok=True)
        (day_dir / f.name).write_bytes(file_bytes(f))
        n_lines += len(f.entries)
    return len(files), n_lines


def ground_truth_rows(plans: list[ProfilePlan]) -> list[dict[str, str]]:
    rows = []
    for p in sorted(plans, key=lambda p: (p.platform, p.profile_id)):
        rows.append(
            {
                "platform": p.platform,
                "profile_id": p.profile_id,
                "archetype": p.archetype,
                "tier_at_end": tier_of(p.followers_end),
                "followers_start": str(p.followers_start),
                "followers_end": str(p.followers_end),
                "expected_rising": _bool(p.archetype in EXPECTED_RISING),
                "expected_suspicious": _bool(p.archetype in EXPECTED_SUSPICIOUS),
            }
        )
    return rows


def write_ground_truth(path: pathlib.Path, plans: list[ProfilePlan]) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=GROUND_TRUTH_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(ground_truth_rows(plans))
    path.write_text(buf.getvalue(), encoding="utf-8")


def _bool(value: bool) -> str:
    return "true" if value else "false"
