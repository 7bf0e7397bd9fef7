"""Which landed files a run must read: new ones, and changed ones (refused unless allowed). Pure."""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from ingest.landing import LandedFile


@dataclass(frozen=True)
class IngestPlan:
    new: list[LandedFile] = field(default_factory=list)
    changed: list[LandedFile] = field(default_factory=list)
    already_ingested: int = 0
    hashes: dict[str, str] = field(default_factory=dict)  # relpath -> sha256 of new and changed files


# A recorded hash is trusted only for a file last modified this long before the run that read it
# started: a rewrite within the file system's timestamp resolution of that read could keep the
# size and the modification time (git's "racily clean" entries).
RACY_NS = 2_000_000_000


def recorded_hashes(landed: list[LandedFile], manifest: pa.Table) -> dict[str, str]:
    """relpath -> recorded sha256 of the landed files the manifest saw with the same size and
    modification time, long enough before their run: the content is the one read then, without
    reading the file again. The others must be hashed."""
    rows = manifest.select(["relpath", "size", "mtime_ns", "ingested_at", "sha256"]).to_pylist()
    seen = {r["relpath"]: r for r in rows if r["mtime_ns"] is not None}
    trusted = {}
    for f in landed:
        r = seen.get(f.relpath)
        if r is None or (r["size"], r["mtime_ns"]) != (f.size, f.mtime_ns):
            continue
        ingested_ns = int(r["ingested_at"].timestamp() * 1_000_000) * 1_000
        if f.mtime_ns < ingested_ns - RACY_NS:
            trusted[f.relpath] = r["sha256"]
    return trusted


def plan_ingest(landed: list[LandedFile], hashes: dict[str, str], manifest: pa.Table) -> IngestPlan:
    """landed: files now in the landing dir; hashes: their sha256; manifest: what earlier runs read."""
    known = {row["relpath"]: row["sha256"] for row in manifest.select(["relpath", "sha256"]).to_pylist()}
    new, changed, same = [], [], 0
    for f in landed:
        previous = known.get(f.relpath)
        if previous is None:
            new.append(f)
        elif previous != hashes[f.relpath]:
            changed.append(f)
        else:
            same += 1
    touched = {f.relpath: hashes[f.relpath] for f in new + changed}
    return IngestPlan(new, changed, same, touched)


def updated_manifest(
    manifest: pa.Table,
    files: list[LandedFile],
    hashes: dict[str, str],
    run_id: str,
    ingested_us: int,
    schema: pa.Schema,
) -> pa.Table:
    """The manifest with `files` added (a re-read changed file replaces its old entry)."""
    replaced = pa.array([f.relpath for f in files], pa.string())
    kept = manifest.filter(pc.invert(pc.is_in(manifest["relpath"], value_set=replaced)))
    added = pa.table(
        {
            "relpath": replaced,
            "size": pa.array([f.size for f in files], pa.int64()),
            "sha256": pa.array([hashes[f.relpath] for f in files], pa.string()),
            "run_id": pa.array([run_id] * len(files), pa.string()),
            "ingested_at": pa.array([ingested_us] * len(files), pa.int64()).cast(
                schema.field("ingested_at").type
            ),
            "mtime_ns": pa.array([f.mtime_ns for f in files], pa.int64()),
        },
        schema=schema,
    )
    return pa.concat_tables([kept.cast(schema), added]).sort_by("relpath")
