"""The night's first step: what landed since the last run, and whether the run can account for it.

Lists the landing directory, fails on entries it cannot account for (with a report of the failed
run), compares the files with the manifest (hashing only those it has not seen) and refuses files
that changed after ingestion unless allowed. Retries only here, where the file system is touched.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
from prefect import task

from flows.night import Landed, Night, timed
from flows.progress import progress
from ingest import landing
from pipelines import batch
from storage import manifest
from storage.warehouse import MANIFEST_SCHEMA


class ChangedLandingFiles(RuntimeError):
    pass


class UnreadableLandingFile(OSError):
    """A landed file vanished or could not be read while it was hashed: the message names it."""


@task(retries=2, retry_delay_seconds=5)
def list_landing(landing_dir: str, ignored_patterns: tuple[str, ...]) -> landing.LandingScan:
    """Every entry below the landing directory, sorted into contract files, hidden, ignored, unknown
    and unreadable (file system: retried)."""
    return landing.scan(Path(landing_dir), ignored_patterns)


@task(retries=2, retry_delay_seconds=5)
def scan_landing(
    landed: list[landing.LandedFile], seen: pa.Table, rehash: bool = False
) -> manifest.IngestPlan:
    """Compares the landed files with the manifest (file system: retried). Files the manifest saw
    with the same size and modification time keep their recorded hash, unless `rehash`: the others
    are read and hashed, so a night reads the new files, not the history."""
    hashes = {} if rehash else manifest.recorded_hashes(landed, seen)
    hashes |= {f.relpath: _sha256(f) for f in landed if f.relpath not in hashes}
    return manifest.plan_ingest(landed, hashes, seen)


def check_landing(night: Night, entries: landing.LandingScan) -> dict:
    """The run report's account of the landing entries; an entry the run cannot account for fails
    it, named, with a report of the failed run (runs/<run_id>.json) listing every entry."""
    account = entries.report(night.config.skip_unreadable_landing)
    try:
        entries.check(night.landing_dir, night.config.skip_unreadable_landing)
    except landing.LandingProblems as exc:
        night.wh.write_json(
            f"runs/{night.run_id}.json",
            {
                "run_id": night.run_id,
                "status": "failed",
                "phase": "landing",
                "error": str(exc),
                "landing": str(Path(night.landing_dir).resolve()),
                "landing_entries": account,
            },
        )
        raise
    if entries.hidden:
        progress(f"landing: {len(entries.hidden)} hidden (dot-named) entries left for later")
    return account


def _sha256(f: landing.LandedFile) -> str:
    try:
        return landing.file_sha256(f.path)
    except OSError as exc:
        raise UnreadableLandingFile(f"cannot hash landed file {f.path}: {exc.strerror or exc}") from exc


@timed("plan")
def find_landed(night: Night, rehash: bool = False, allow_changed: bool = False) -> Landed:
    """What landed since the manifest: new files are read; changed ones refused unless allowed."""
    state = {} if night.full_refresh else night.wh.read_state()
    seen = MANIFEST_SCHEMA.empty_table() if night.full_refresh else night.wh.read_manifest()
    entries = list_landing(night.landing_dir, tuple(night.config.ignored_landing_patterns))
    account = check_landing(night, entries)
    plan = scan_landing(entries.files, seen, rehash)
    progress(
        f"landing: {len(plan.new)} new, {len(plan.changed)} changed, {plan.already_ingested} already ingested"
    )
    if plan.changed and not allow_changed:
        names = ", ".join(f.relpath for f in plan.changed)
        raise ChangedLandingFiles(
            f"landed files changed after ingestion (use --allow-changed to re-read): {names}"
        )
    # Unless told, the bucket count follows the night's input, so a bucket's memory does not.
    night.num_buckets = night.num_buckets or batch.buckets_for(
        sum(f.size for f in plan.new + plan.changed), night.beam_args
    )
    return Landed(plan, seen, state, account)
