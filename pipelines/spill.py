"""Shuffle by reference: tables go to spill files, only their paths go through GroupByKey.

A runner's shuffle holds what it groups; grouping the event tables themselves kept every event
of a run in memory at once on the local runner (10M events: over 20 GB). A spill file is an
Arrow IPC stream (lz4), written and read through Beam's FileSystems, so a staging directory on
gs:// or hdfs:// works as a local one does. Names are unique per call: a retried bundle leaves
an orphan file that no element points to, never a double count. The run removes the spill
directory when its pipeline is done.
"""

from __future__ import annotations

import shutil
import uuid

import pyarrow as pa
from apache_beam.io.filesystems import FileSystems

_OPTIONS = pa.ipc.IpcWriteOptions(compression="lz4")


def write(table: pa.Table, directory: str) -> str:
    path = FileSystems.join(directory, f"{uuid.uuid4().hex}.arrow")
    with FileSystems.create(path) as sink, pa.ipc.new_stream(sink, table.schema, options=_OPTIONS) as writer:
        writer.write_table(table)
    return path


def read(paths: list[str]) -> pa.Table:
    """The spilled tables of `paths`, concatenated in the order given."""
    tables = []
    for path in paths:
        with FileSystems.open(path) as source:
            tables.append(pa.ipc.open_stream(source).read_all())
    return pa.concat_tables(tables).combine_chunks()


def remove(directory: str) -> None:
    """Removes the spill directory. A local one directly: Beam's delete matches its argument as a
    glob, so a staging path holding `[`, `*` or `?` would never be found (#19)."""
    if FileSystems.get_scheme(directory) in (None, "file"):
        shutil.rmtree(directory.removeprefix("file://"), ignore_errors=True)
    elif FileSystems.exists(directory):
        FileSystems.delete([directory])
