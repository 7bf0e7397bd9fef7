"""What the stream has consumed, so that a restart neither double counts nor forgets.

Why a manifest of its own: the nightly manifest (`_meta/manifest.parquet`) lists the files
ingested into `events`. The stream does not write `events`, so it must not mark files there
(the nightly run would then never ingest them). It keeps `_meta/stream_manifest.parquet`
instead, with the same columns (relpath, size, sha256, run_id, ingested_at).

`ingested_at` is the *arrival stamp* the file's lines carried into the pipeline (the time of
the poll that found the file), not merely when the row was written: a restart replays the
files recent enough to hold events of windows that are still open, stamped with that same
arrival time, so every decision that depends on arrival (`too_late`, `future_event`) comes
out as it did the first time. See the "Restarts" section of `pipelines/streaming.py`.

The pure parts (which files to replay, which windows a restart may write) are functions;
`StreamManifest` is the small stateful wrapper that hashes, classifies and persists.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from ingest import landing
from ingest.landing import LandedFile
from schemas.units import DAY_S, US_PER_S
from storage.manifest import IngestPlan, plan_ingest, updated_manifest
from storage.warehouse import MANIFEST_SCHEMA, Warehouse

# An open window is at most 28 days long, and an accepted event can arrive up to 24 h before
# its event_time (`future_event` rejects anything earlier); one more day of slack.
REPLAY_MARGIN_DAYS = 28 + 1 + 1


def replay_from_us(start_us: int, allowed_lateness_s: int) -> int:
    """The earliest arrival a restart at `start_us` must replay: every window still open then
    (its end + lateness after `start_us`) starts after `start_us - lateness - 28 days`, and its
    events arrived at most a day before it started."""
    return start_us - (allowed_lateness_s + REPLAY_MARGIN_DAYS * DAY_S) * US_PER_S


def window_open_at(as_of_day: int, at_us: int, allowed_lateness_s: int) -> bool:
    """Does the window whose last UTC day is `as_of_day` (days since 1970-01-01) still take late
    data at `at_us`? Windows closed before a restart may hold only part of their events after
    the replay, so a restarted stream writes none of them (their rows stay as written)."""
    return ((as_of_day + 1) * DAY_S + allowed_lateness_s) * US_PER_S > at_us


def complete_from_us(manifest: pa.Table, since_us: int) -> int | None:
    """From when on the windows a restart rebuilds hold all their events: None when the replay
    covers every file earlier runs consumed; else a day after `since_us`, because the files not
    replayed arrived before it and hold no accepted event more than 24 h after their arrival."""
    if manifest.num_rows == 0:
        return None
    oldest = pc.min(pc.cast(manifest["ingested_at"], pa.int64())).as_py()
    return None if oldest >= since_us else since_us + DAY_S * US_PER_S


def files_to_replay(manifest: pa.Table, since_us: int) -> list[tuple[str, str, int]]:
    """(relpath, sha256, arrival micros) of the files that arrived at or after `since_us`, in
    arrival order (the order the previous runs read them)."""
    arrival = pc.cast(manifest["ingested_at"], pa.int64())
    recent = manifest.append_column("arrival_us", arrival).filter(pc.greater_equal(arrival, since_us))
    rows = recent.select(["relpath", "sha256", "arrival_us"]).to_pylist()
    return sorted(((r["relpath"], r["sha256"], r["arrival_us"]) for r in rows), key=lambda r: (r[2], r[0]))


class StreamManifest:
    """The stream manifest of one warehouse: loaded once at start, rewritten atomically each
    time a poll consumes files. Only the stream (holding the warehouse lock) writes it."""

    def __init__(self, warehouse: Warehouse, run_id: str):
        self.warehouse = warehouse
        self.run_id = run_id
        self.table = warehouse.read_stream_manifest()

    def classify(self, files: list[LandedFile]) -> IngestPlan:
        """Hash `files` and sort them into new, changed (same relpath, other content) and known
        (the nightly's rule, `ingest_plan.plan_ingest`)."""
        hashes = {f.relpath: landing.file_sha256(f.path) for f in files}
        return plan_ingest(files, hashes, self.table)

    def record(self, files: list[LandedFile], hashes: dict[str, str], arrival_us: int) -> None:
        if not files:
            return
        self.table = updated_manifest(self.table, files, hashes, self.run_id, arrival_us, MANIFEST_SCHEMA)
        self.warehouse.write_stream_manifest(self.table)
