"""run_stream: the stream as a command runs it, with a clean stop on SIGTERM/SIGINT."""

from __future__ import annotations

import os
import shutil
import signal
import threading
import uuid
from datetime import UTC, datetime

import apache_beam as beam

from pipelines.stream import counters
from pipelines.stream import manifest as stream_manifest
from pipelines.stream.options import (
    DEFAULT_ALLOWED_LATENESS_S,
    DEFAULT_GRACE_S,
    DEFAULT_OUT_OF_ORDERNESS_S,
    streaming_options,
)
from pipelines.stream.options import now_us as _now_us
from pipelines.stream.publish import _HORIZONS, WriteStreamOutputs
from pipelines.stream.source import WatchLanding
from pipelines.stream.windowing import StreamEngagement


class StopSignals:
    """SIGTERM and SIGINT (from a terminal or a supervisor: installed even when the parent left
    SIGINT ignored) set `stop`: the stream drains, writes the complete windows and returns. A
    second signal, or a drain longer than `grace_s`, ends the process at once with 128 + signal
    (143 for SIGTERM, 130 for SIGINT); every partition and the manifest are swapped atomically,
    so what readers see is the last state written in full."""

    def __init__(self, stop: threading.Event, grace_s: float, tell=None):
        self.stop = stop
        self.grace_s = grace_s
        self.tell = tell or (lambda message: None)
        self.previous: dict = {}
        self.first: int | None = None

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                self.previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc):
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)
        return False

    def _handle(self, signum, frame):
        if self.first is not None:
            self.tell(f"second signal ({signal.Signals(signum).name}): exiting now")
            os._exit(128 + signum)
        self.first = signum
        self.tell(
            f"{signal.Signals(signum).name}: draining (grace {self.grace_s:g} s); a second signal exits now"
        )
        self.stop.set()
        timer = threading.Timer(self.grace_s, self._overrun, args=(signum,))
        timer.daemon = True
        timer.start()

    def _overrun(self, signum):
        self.tell(f"drain took longer than the grace period ({self.grace_s:g} s): exiting now")
        os._exit(128 + signum)


def run_stream(
    landing_dir,
    warehouse_dir,
    allowed_lateness_s: int = DEFAULT_ALLOWED_LATENESS_S,
    beam_args: list[str] | None = None,
    poll_interval_s: float = 10.0,
    stop_after_s: float | None = None,
    progress=None,
    out_of_orderness_s: int = DEFAULT_OUT_OF_ORDERNESS_S,
    grace_s: float = DEFAULT_GRACE_S,
    stop: threading.Event | None = None,
):
    """Watch `landing_dir` and keep the warehouse's engagement partitions current until SIGTERM or
    SIGINT (or `stop` is set, or `stop_after_s` seconds of polling have passed): then it drains,
    writes every window that ends by the last event time seen (never a day not yet over) and
    returns; a second signal or a drain longer than `grace_s` exits the process at once.
    Holds the warehouse's writer lock the whole time: the nightly flow and the stream must not
    write at once. Resumes from the stream manifest (module docstring, "Restarts");
    `progress(message)`, if given, is told what the resume found and when a signal arrives."""
    from storage import stream_posts
    from storage.warehouse import Warehouse

    warehouse = Warehouse.at(warehouse_dir)
    warehouse.root.mkdir(parents=True, exist_ok=True)
    started_us = _now_us()
    run_id = "stream-" + datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
    stop = stop or threading.Event()
    tell = progress or (lambda message: None)
    with warehouse.lock(), StopSignals(stop, grace_s, tell):
        for stale in (warehouse.root / "_staging").glob("stream-*"):
            shutil.rmtree(stale, ignore_errors=True)  # swaps a killed stream never finished
        manifest = stream_manifest.StreamManifest(warehouse, run_id)
        since_us = stream_manifest.replay_from_us(started_us, allowed_lateness_s)
        # Per-post counter state: what the files before the replay horizon left; the replay rebuilds
        # the rest (pipelines/stream/counters.py)
        stream_posts.compact(warehouse.root)
        seed = counters.seed_states(stream_posts.read(warehouse.root, arrived_before_us=since_us))
        pipeline = beam.Pipeline(options=streaming_options(beam_args))
        watch = WatchLanding(
            str(landing_dir),
            poll_interval_s,
            stop_after_s,
            manifest,
            since_us,
            out_of_orderness_s,
            stop,
            horizon_key=run_id,
        )
        outputs = (
            pipeline
            | "WatchLanding" >> watch
            | "Engagement" >> StreamEngagement(allowed_lateness_s, seed=seed)
        )
        complete_from = stream_manifest.complete_from_us(manifest.table, since_us)
        _ = outputs | "Write" >> WriteStreamOutputs(
            str(warehouse.root), allowed_lateness_s, run_id, complete_from, horizon_key=run_id
        )
        if manifest.table.num_rows:
            tell(
                f"resuming: {manifest.table.num_rows} landing file(s) consumed by earlier stream runs are "
                f"skipped; {len(watch.poller.replay)} of them replayed to rebuild the windows; "
                f"counter state of {len(seed)} post(s) from the older ones"
            )
        result = pipeline.run()
        try:
            result.wait_until_finish()
        finally:
            watch.stop()
            _HORIZONS.pop(run_id, None)
        tell(f"stopped: {watch.poller.files_read} file(s), {watch.poller.lines_read} line(s) read")
        return result
