"""The warehouse on disk: dataset paths, atomic partition publishing, the ingest manifest, the lock.

Publishing follows PLATFORM.md's measurements: files are staged outside every dataset root
with names unique to the run, then each partition directory is swapped in with one atomic
`renameat2(RENAME_EXCHANGE)`, so a live reader sees the old partition or the new one, never
a mix. A staged run is marked READY before its first swap; a run killed during the swaps is
finished by the next run (`resume_pending`).
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import json
import os
import shutil
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ingest.tables import split_by
from schemas.datasets import ALL_DATASETS, Dataset
from storage import faults
from storage.parquet import write_parquet

META = "_meta"
STAGING = "_staging"
SNAPSHOTS = "_snapshots"  # immutable views of the published files, read by the analyst database
READY = "READY"
MANIFEST_SCHEMA = pa.schema(
    [
        ("relpath", pa.string()),
        ("size", pa.int64()),
        ("sha256", pa.string()),
        ("run_id", pa.string()),
        ("ingested_at", pa.timestamp("us", tz="UTC")),
        ("mtime_ns", pa.int64()),  # the file's modification time when read (null in older manifests)
    ]
)
# The stream rewrites a partition into one file named so (replace_partition).
STREAM_FILE_PREFIX = "part-stream-"
_RENAME_EXCHANGE = 2
_libc = ctypes.CDLL(None, use_errno=True)


class WarehouseBusy(RuntimeError):
    pass


def _exchange(a: Path, b: Path) -> None:
    """Atomically swap two existing directories (Linux renameat2)."""
    at_fdcwd = -100
    if _libc.renameat2(at_fdcwd, bytes(a), at_fdcwd, bytes(b), _RENAME_EXCHANGE) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err), str(a))


def _read_manifest(path: Path) -> pa.Table:
    if path.exists():
        return pq.read_table(path, schema=MANIFEST_SCHEMA)
    return MANIFEST_SCHEMA.empty_table()


@dataclass(frozen=True)
class Warehouse:
    root: Path

    @classmethod
    def at(cls, root: str | Path) -> Warehouse:
        return cls(Path(root).resolve())

    def dataset_dir(self, dataset: Dataset) -> Path:
        return self.root / dataset.name

    def partition_files(self, dataset: Dataset) -> list[str]:
        return sorted(str(p) for p in self.dataset_dir(dataset).glob("*=*/*.parquet"))

    def files_by_partition(self, dataset: Dataset) -> dict[date, list[str]]:
        """Published files per partition date."""
        found: dict[date, list[str]] = {}
        for part in sorted(self.dataset_dir(dataset).glob(f"{dataset.partition}=*")):
            files = sorted(str(p) for p in part.glob("*.parquet"))
            if files:
                found[date.fromisoformat(part.name.split("=", 1)[1])] = files
        return found

    @property
    def meta(self) -> Path:
        return self.root / META

    @property
    def duckdb_path(self) -> Path:
        return self.root / "microradar.duckdb"

    def staging_dir(self, run_id: str) -> Path:
        return self.root / STAGING / run_id

    # --- one writer at a time -------------------------------------------------------------
    @contextmanager
    def lock(self):
        self.meta.mkdir(parents=True, exist_ok=True)
        with open(self.meta / "writer.lock", "w") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                if exc.errno in (errno.EAGAIN, errno.EACCES):
                    raise WarehouseBusy(f"another microradar run is writing to {self.root}") from None
                raise
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    # --- manifest of ingested landing files -----------------------------------------------
    @property
    def manifest_path(self) -> Path:
        return self.meta / "manifest.parquet"

    def read_manifest(self) -> pa.Table:
        return _read_manifest(self.manifest_path)

    # --- the stream's own manifest of consumed landing files ----------------------------------
    # Separate from the nightly one: the stream does not write `events`, so a file it consumed
    # must still be ingested by the next nightly run (pipelines/stream_manifest.py).
    @property
    def stream_manifest_path(self) -> Path:
        return self.meta / "stream_manifest.parquet"

    def read_stream_manifest(self) -> pa.Table:
        return _read_manifest(self.stream_manifest_path)

    def write_stream_manifest(self, manifest: pa.Table) -> None:
        """Replace the stream manifest in one step (temp file, fsync, rename): a restart after a
        kill reads the old manifest or the new one, never a torn file."""
        self.meta.mkdir(parents=True, exist_ok=True)
        tmp = self.meta / ".stream_manifest.parquet.tmp"
        write_parquet(manifest.cast(MANIFEST_SCHEMA), tmp)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, self.stream_manifest_path)

    # --- run state and reports -------------------------------------------------------------
    def read_state(self) -> dict:
        path = self.meta / "state.json"
        return json.loads(path.read_text()) if path.exists() else {}

    def write_json(self, name: str, payload: dict, fault: str | None = None) -> Path:
        """Replaces `_meta/<name>` in one step: a temp file, fsync, rename (`fault`: the prefix of
        the fault points of each step)."""
        path = self.meta / name
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        with open(tmp, "w") as handle:
            handle.write(json.dumps(payload, indent=2, sort_keys=True, default=str))
            handle.flush()
            if fault:
                faults.point(f"{fault}_fsync")
            os.fsync(handle.fileno())
        if fault:
            faults.point(f"{fault}_rename")
        os.replace(tmp, path)
        return path

    # --- publishing -------------------------------------------------------------------------
    def stage_manifest(self, run_id: str, manifest: pa.Table) -> None:
        faults.point("stage_manifest")
        staged = self.staging_dir(run_id) / "manifest.parquet"
        write_parquet(manifest.cast(MANIFEST_SCHEMA), staged)

    def stage_table(self, run_id: str, name: str, table: pa.Table) -> str | None:
        """A run's working table as one Parquet file in its staging dir (None when empty)."""
        if not table.num_rows:
            return None
        path = self.staging_dir(run_id) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        write_parquet(table, path)
        return str(path)

    def stage_partitions(self, run_id: str, dataset: Dataset, table: pa.Table, to_date) -> int:
        """Stages `table` (with the dataset's partition column as day numbers or dates) as one file per
        partition; `to_date` turns a day number into a date. Returns the rows staged."""
        days = table[dataset.partition].cast(pa.int32()).to_numpy()
        for day, rows in split_by(table.drop_columns([dataset.partition]), days):
            part = self.staging_dir(run_id) / dataset.name / f"{dataset.partition}={to_date(day)}"
            part.mkdir(parents=True, exist_ok=True)
            write_parquet(rows, part / f"part-{run_id}.parquet")
        return table.num_rows

    def keep_existing_files(
        self, run_id: str, dataset: Dataset, partitions: list[date] | None = None
    ) -> None:
        """Append-only datasets (rejected), or the `partitions` a run only adds to: hard-link the
        published files of those staged partitions (None: every staged one) into the staging
        copy, so the swap adds the run's files instead of replacing."""
        staged_root = self.staging_dir(run_id) / dataset.name
        names = None if partitions is None else {f"{dataset.partition}={d.isoformat()}" for d in partitions}
        for staged in staged_root.glob("*=*"):
            if names is not None and staged.name not in names:
                continue
            for old in (self.dataset_dir(dataset) / staged.name).glob("*.parquet"):
                target = staged / old.name
                if not target.exists():
                    os.link(old, target)

    def mark_ready(
        self, run_id: str, state: dict, replace_datasets: bool = False, figures: dict | None = None
    ) -> None:
        """Everything is staged: from here on a commit is finished, never discarded.

        replace_datasets (a full rebuild): each staged dataset replaces the published one whole,
        so partitions the rebuild no longer produces disappear. figures: the run's report figures
        (line counts, files), kept with the marker so that a run finishing this commit after a kill
        reports them (resume_pending_with_figures).
        """
        staging = self.staging_dir(run_id)
        staging.mkdir(parents=True, exist_ok=True)
        if replace_datasets:
            for dataset in ALL_DATASETS:
                if (staging / dataset.name).exists():
                    (staging / dataset.name / f".run-{run_id}").touch()
        ready = {"state": state, "replace_datasets": replace_datasets, "figures": figures or {}}
        if not run_id.endswith("-sql") and not run_id.endswith("-sql-db"):
            faults.point("ready_write")
        tmp = staging / f".{READY}.tmp"  # the marker appears whole or not at all
        tmp.write_text(json.dumps(ready, default=str))
        os.replace(tmp, staging / READY)

    def commit(self, run_id: str) -> dict:
        """Swap every staged partition (or dataset) in, then the manifest and state; remove the staging dir."""
        staging = self.staging_dir(run_id)
        ready = json.loads((staging / READY).read_text())
        state = ready["state"]
        # Fault points (storage.faults): data_*, sql_* or db_* after the commit's kind.
        kind = "db" if run_id.endswith("-sql-db") else "sql" if run_id.endswith("-sql") else "data"
        faults.point(f"{kind}_commit_start")
        swapped = 0
        for dataset in ALL_DATASETS:
            if ready["replace_datasets"]:
                if (staging / dataset.name).exists():
                    faults.point(f"{kind}_swap")
                    self._publish_dataset(staging / dataset.name, self.dataset_dir(dataset), run_id)
                    swapped += 1
                continue
            for staged in sorted((staging / dataset.name).glob("*=*")):
                if swapped == 0:
                    faults.point(f"{kind}_swap")
                self._publish_partition(staged, self.dataset_dir(dataset) / staged.name, run_id)
                swapped += 1
                if swapped == 1:
                    faults.point(f"{kind}_mid_commit")
        if (staging / "manifest.parquet").exists():
            faults.point(f"{kind}_manifest_rename")
            os.replace(staging / "manifest.parquet", self.manifest_path)
        if (staging / "microradar.duckdb").exists():
            faults.point(f"{kind}_duckdb_rename")
            os.replace(staging / "microradar.duckdb", self.duckdb_path)
        faults.point(f"{kind}_state_write")
        self.write_json("state.json", state, fault=f"{kind}_state")
        faults.point(f"{kind}_staging_removed")
        shutil.rmtree(staging)
        return {"partitions_published": swapped}

    def _publish_partition(self, staged: Path, target: Path, run_id: str) -> None:
        if not any(run_id in p.name for p in staged.glob("*.parquet")):
            # Already swapped by an interrupted commit: `staged` now holds the old partition.
            shutil.rmtree(staged)
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            _exchange(staged, target)
            shutil.rmtree(staged)
        else:
            os.rename(staged, target)

    def _publish_dataset(self, staged: Path, target: Path, run_id: str) -> None:
        if not (staged / f".run-{run_id}").exists():
            shutil.rmtree(staged)  # already swapped: `staged` holds the old dataset
            return
        if target.exists():
            _exchange(staged, target)
            shutil.rmtree(staged)
        else:
            os.rename(staged, target)

    # --- snapshots: one night across datasets for the analyst database (#19 item 10) ----------
    def snapshot(self, name: str) -> Warehouse:
        """A hard link of every published Parquet file below `_snapshots/<name>`, in the warehouse's
        layout, returned as a Warehouse to build views over. Links share the files' blocks (no
        copy), and a snapshot never changes: the partition swaps of a later data commit replace the
        live directories, not these links, so views over a snapshot see one night in every dataset
        until the analyst database pointing at the next snapshot is committed."""
        final = self.root / SNAPSHOTS / name
        tmp = self.root / SNAPSHOTS / f".{name}.tmp"
        for stale in (final, tmp):
            if stale.exists():
                shutil.rmtree(stale)  # a killed earlier attempt of the same run
        tmp.mkdir(parents=True)
        for dataset in ALL_DATASETS:  # partitions by their directory name: a day or a platform
            for part in sorted(self.dataset_dir(dataset).glob(f"{dataset.partition}=*")):
                files = sorted(part.glob("*.parquet"))
                if not files:
                    continue
                target = tmp / dataset.name / part.name
                target.mkdir(parents=True)
                for path in files:
                    os.link(path, target / path.name)
        os.rename(tmp, final)
        return Warehouse(final)

    def prune_snapshots(self, keep: set[str]) -> None:
        """Removes the snapshots not in `keep` (the committed analyst database's and the one before,
        which sessions opened before the last commit still read)."""
        for path in sorted((self.root / SNAPSHOTS).glob("*")):
            if path.name not in keep:
                shutil.rmtree(path, ignore_errors=True)

    def resume_pending(self) -> list[str]:
        """Finish commits a killed run had started; discard runs that never got to READY."""
        return list(self.resume_pending_with_figures())

    def resume_pending_with_figures(self) -> dict[str, dict]:
        """resume_pending, with the figures each finished run kept with its READY marker."""
        finished = {}
        for staging in sorted((self.root / STAGING).glob("*")):
            if (staging / READY).exists():
                figures = json.loads((staging / READY).read_text()).get("figures", {})
                self.commit(staging.name)
                finished[staging.name] = figures
            else:
                shutil.rmtree(staging)
        return finished

    def discard_unready(self, run_ids: list[str]) -> list[str]:
        """A failed run's staging dirs that never got to READY, removed (a READY one is finished by
        the next run). Returns the ones removed."""
        removed = []
        for run_id in run_ids:
            staging = self.staging_dir(run_id)
            if staging.exists() and not (staging / READY).exists():
                shutil.rmtree(staging, ignore_errors=True)
                removed.append(run_id)
        return removed


def replace_partition(table: pa.Table, target: Path, staging_root: Path) -> Path:
    """Write `table` as the partition directory `target` in one atomic step (readers see the old
    or the new partition, never a mix): a uniquely named file in a staging directory outside the
    dataset, then renameat2(RENAME_EXCHANGE) with the live directory (rename when it is new)."""
    token = uuid.uuid4().hex
    staged = staging_root / f"stream-{token}" / target.name
    staged.mkdir(parents=True)
    path = staged / f"{STREAM_FILE_PREFIX}{token[:16]}.parquet"
    write_parquet(table, path)
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        _exchange(staged, target)  # `staged` now holds the old partition
    else:
        os.rename(staged, target)
    shutil.rmtree(staged.parent, ignore_errors=True)
    return target / path.name
