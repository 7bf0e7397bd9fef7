"""The landing directory as an unbounded source in event time (local runner: TestStream over gRPC)."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import apache_beam as beam
from apache_beam.utils.timestamp import MIN_TIMESTAMP

from ingest import landing, parse
from ingest.landing import LandedFile
from pipelines.stream import manifest as stream_manifest
from pipelines.stream.options import DEFAULT_OUT_OF_ORDERNESS_S
from pipelines.stream.options import now_us as _now_us
from pipelines.stream.publish import set_horizon
from schemas.units import US_PER_S

_LOG = logging.getLogger(__name__)
_EVENT_TIME_AT = parse.EVENT_COLUMNS.index("event_time")


def peek_event_us(raw: bytes, arrival_us: int) -> int | None:
    """The event time of a raw line as the parser will accept it, or None for a line it rejects
    (a rejected line, e.g. a planted `negative_count` dated next week, must not move the
    watermark). The full parse costs ~20 us a line, small beside a line's cost in the pipeline."""
    row = parse.parse_line(raw, arrival_us)
    if row is None or isinstance(row, parse.Reject):
        return None
    return row[_EVENT_TIME_AT]


class EventTimeClock:
    """The stream's watermark: the largest event time seen minus a bounded out-of-orderness,
    never ahead of the wall clock at arrival, never going back. It moves after each landing file,
    so the watermark a line meets depends only on the order files were consumed (the manifest
    keeps it): a restart that replays the same files in the same order makes the same decisions.
    `last_event_us` is the largest event time seen: on stop, no window ending after it (or after
    the wall clock) is written."""

    def __init__(self, out_of_orderness_s: int):
        self.out_of_orderness_us = out_of_orderness_s * US_PER_S
        self.watermark_us: int | None = None  # None: before any event, lines are stamped MIN_TIMESTAMP
        self.last_event_us: int | None = None

    def stamp_us(self) -> int:
        return self.watermark_us if self.watermark_us is not None else MIN_TIMESTAMP.micros

    def advance(self, lines: list, arrival_us: int) -> int | None:
        """Take in one file's lines (relpath, line_no, raw, arrival_us); the new watermark if it moved."""
        times = [t for t in (peek_event_us(line[2], arrival_us) for line in lines) if t is not None]
        if not times:
            return None
        top = max(times)
        self.last_event_us = top if self.last_event_us is None else max(self.last_event_us, top)
        candidate = min(self.last_event_us - self.out_of_orderness_us, arrival_us)
        if self.watermark_us is None or candidate > self.watermark_us:
            self.watermark_us = candidate
            return candidate
        return None


class LandingPoller:
    """Polls the landing directory and turns what landed into TestStream events: the lines of
    each new file (relpath, line_no, raw, arrival wall-clock micros), stamped with the current
    event-time watermark, then a watermark advance (EventTimeClock). Files are read one at a
    time in name order; files are immutable once landed (SPEC 2), so each is read once; files
    still being uploaded must be hidden (dot-named): `landing.discover` skips them.

    With a `manifest` (a `stream_manifest.StreamManifest`), "read once" holds across restarts:
    files earlier runs consumed are not read as new; those that arrived since `replay_from_us`
    are replayed first, in the order they were consumed, with their first arrival stamps, to
    rebuild the state of the windows (module docstring, "Restarts"); a file whose content changed
    since a run consumed it is logged as an error and skipped, as the nightly flow refuses it. A
    poll records the files it consumed in the manifest before it hands their lines on.

    `read_multiple` is the reader interface of Beam's TestStreamServiceController, whose gRPC
    service feeds an endpoint-backed TestStream: on BundleBasedDirectRunner that is the one
    unbounded source whose watermark a user can drive. `fileio.MatchContinuously` does not run
    there (docs/streaming.md, "Why not MatchContinuously locally"). `stop` (a threading.Event)
    ends it: a last watermark advance to the end of time, which fires every open window; the
    sink drops those that end after `clock.last_event_us` (WriteStreamOutputs)."""

    LINES_PER_EVENT = 5_000

    def __init__(
        self,
        landing_dir: str,
        poll_interval_s: float,
        stop_at_s: float | None = None,
        manifest: stream_manifest.StreamManifest | None = None,
        replay_from_us: int | None = None,
        out_of_orderness_s: int = DEFAULT_OUT_OF_ORDERNESS_S,
        stop: threading.Event | None = None,
    ):
        self.landing_dir = landing_dir
        self.poll_interval_s = poll_interval_s
        self.stop_at_s = stop_at_s
        self.stop = stop or threading.Event()
        self.manifest = manifest
        self.clock = EventTimeClock(out_of_orderness_s)
        self.stopped_at_us: int | None = None  # wall clock of the stop: no window ending after it is written
        self.seen: set[str] = set()  # relpaths decided in this process: consumed, known or refused
        self.unreadable: set[str] = set()
        self.replay: list[tuple[LandedFile, int]] = []  # (file, first arrival micros), arrival order
        self.files_read = 0
        self.lines_read = 0
        if manifest is not None:
            self._resume(replay_from_us)

    def _resume(self, replay_from_us: int | None) -> None:
        """Sort the files earlier runs consumed into known (skipped), changed (refused) and to
        replay. Runs before the pipeline starts: hashing a large landing directory here cannot
        trip the TestStream's 30 s wait for its first event."""
        landed = {f.relpath: f for f in landing.discover(Path(self.landing_dir))}
        consumed = set(self.manifest.table["relpath"].to_pylist())
        plan = self.manifest.classify([f for rel, f in landed.items() if rel in consumed])
        changed = {f.relpath for f in plan.changed}
        self._refuse(plan.changed)
        self.seen |= consumed & set(landed)
        since = replay_from_us if replay_from_us is not None else _now_us()
        for relpath, _, arrival_us in stream_manifest.files_to_replay(self.manifest.table, since):
            if relpath in landed and relpath not in changed:
                self.replay.append((landed[relpath], arrival_us))
            elif relpath not in landed:
                _LOG.warning(
                    "landing file %s, consumed by an earlier stream run, is gone: the windows still "
                    "open that hold its events are rebuilt without them",
                    relpath,
                )

    def _refuse(self, changed: list[LandedFile]) -> None:
        for f in changed:
            _LOG.error(
                "landing file %s changed after the stream consumed it (landed files are immutable): "
                "skipped; its new content is not counted",
                f.relpath,
            )
            self.seen.add(f.relpath)

    def _read(self, landed: LandedFile, arrival_us: int) -> list | None:
        """The file's (relpath, line_no, raw, arrival_us) lines, or None when it cannot be read (yet)."""
        try:
            lines = [(landed.relpath, n, raw, arrival_us) for n, raw in landing.iter_lines(landed.path)]
        except (OSError, EOFError) as exc:  # a truncated .gz or a vanished file: nothing of it is emitted
            if landed.relpath not in self.unreadable:
                _LOG.warning("unreadable landing file %s (retried every poll): %s", landed.relpath, exc)
            self.unreadable.add(landed.relpath)
            return None
        self.unreadable.discard(landed.relpath)
        return lines

    def _batches(self, lines: list) -> list[list]:
        return [lines[i : i + self.LINES_PER_EVENT] for i in range(0, len(lines), self.LINES_PER_EVENT)]

    def replay_files(self):
        """(relpath, lines) of the files to replay, in the order they were first consumed."""
        for landed, arrival_us in self.replay:
            lines = self._read(landed, arrival_us)
            if lines is not None:  # a replayed file that became unreadable: as if it were gone
                yield landed.relpath, lines
        self.replay = []

    def poll(self) -> list[tuple[str, list]]:
        """One poll -> [(relpath, lines)] of the files that landed since, in name order."""
        now_us = _now_us()
        unseen = sorted(
            (f for f in landing.discover(Path(self.landing_dir)) if f.relpath not in self.seen),
            key=lambda f: f.relpath,
        )
        if self.manifest is not None:
            plan = self.manifest.classify(unseen)
            self._refuse(plan.changed)
            self.seen |= {f.relpath for f in unseen} - {f.relpath for f in plan.new}  # known: consumed before
            unseen = [f for f in unseen if f.relpath in {n.relpath for n in plan.new}]
        files, consumed = [], []
        for landed in unseen:
            lines = self._read(landed, now_us)
            if lines is None:
                continue
            self.seen.add(landed.relpath)
            consumed.append(landed)
            files.append((landed.relpath, lines))
        if self.manifest is not None:
            # Recorded before the lines are handed on: a run killed in between replays the file
            # at its restart (at-least-once into the pipeline; the sinks make it count once).
            self.manifest.record(consumed, plan.hashes, now_us)
        return files

    def events(self, files):
        """(kind, payload) steps for a list of (relpath, lines): ("lines", (stamp_us, batch)) and
        ("watermark", micros); the clock moves after each file."""
        for _, lines in files:
            stamp = self.clock.stamp_us()
            for batch in self._batches(lines):
                yield "lines", (stamp, batch)
            self.files_read += 1
            self.lines_read += len(lines)
            moved = self.clock.advance(lines, lines[-1][3] if lines else _now_us())
            if moved is not None:
                yield "watermark", moved

    def steps(self):
        """Every step of the stream: the replay, then polls until `stop` is set (or `stop_at_s`)."""
        yield from self.events(self.replay_files())
        while not self.stop.is_set():
            yield from self.events(self.poll())
            if self.stop_at_s is not None and time.time() >= self.stop_at_s:
                break
            self.stop.wait(self.poll_interval_s)
        self.stopped_at_us = _now_us()

    def read_multiple(self, keys, tail=True):
        from apache_beam.coders import FastPrimitivesCoder
        from apache_beam.portability.api import beam_runner_api_pb2
        from apache_beam.utils.timestamp import MAX_TIMESTAMP

        Event = beam_runner_api_pb2.TestStreamPayload.Event
        TimestampedElement = beam_runner_api_pb2.TestStreamPayload.TimestampedElement
        coder = FastPrimitivesCoder()
        for kind, payload in self.steps():
            if kind == "lines":
                stamp_us, lines = payload
                yield Event(
                    element_event=Event.AddElements(
                        elements=[
                            TimestampedElement(encoded_element=coder.encode(line), timestamp=stamp_us)
                            for line in lines
                        ]
                    )
                )
            else:
                yield Event(watermark_event=Event.AdvanceWatermark(new_watermark=payload))
        # Stop: the horizon first (read by the sink), then the end of time, which fires every window.
        set_horizon(self.horizon_key, self.horizon_us())
        yield Event(watermark_event=Event.AdvanceWatermark(new_watermark=MAX_TIMESTAMP.micros))

    horizon_key: str = ""

    def horizon_us(self) -> int:
        """The latest window end the stream may write once stopped: the last event time seen, and
        never after the wall clock (no partition for a day that has not ended)."""
        now_us = self.stopped_at_us or _now_us()
        last = self.clock.last_event_us
        return now_us if last is None else min(last, now_us)


# The stop horizon of each running stream, by run id: the poller sets it just before the final
class WatchLanding(beam.PTransform):
    """The landing directory as an unbounded PCollection of lines (relpath, line_no, raw,
    arrival_us), stamped with the event-time watermark they met (LandingPoller). The gRPC service
    is local (localhost) and lives as long as the transform object; call `stop()` after the
    pipeline ends. `poll_interval_s` must stay well under 30 s (the TestStream's idle timeout).
    `manifest`, `replay_from_us`, `out_of_orderness_s` and `stop`: see LandingPoller."""

    def __init__(
        self,
        landing_dir: str,
        poll_interval_s: float,
        stop_after_s: float | None = None,
        manifest: stream_manifest.StreamManifest | None = None,
        replay_from_us: int | None = None,
        out_of_orderness_s: int = DEFAULT_OUT_OF_ORDERNESS_S,
        stop: threading.Event | None = None,
        horizon_key: str = "",
    ):
        super().__init__()
        if not 0 < poll_interval_s <= 20:
            raise ValueError("poll_interval_s must be in (0, 20] seconds")
        self.poller = LandingPoller(
            str(Path(landing_dir).resolve()),
            poll_interval_s,
            None,
            manifest,
            replay_from_us,
            out_of_orderness_s,
            stop,
        )
        self.poller.horizon_key = horizon_key
        self.stop_after_s = stop_after_s
        self.service = None

    def expand(self, pbegin):
        from apache_beam.testing.test_stream import TestStream
        from apache_beam.testing.test_stream_service import TestStreamServiceController

        if self.stop_after_s is not None:  # counted from here: the resume above may take a while
            self.poller.stop_at_s = time.time() + self.stop_after_s
        self.service = TestStreamServiceController(self.poller)
        self.service.start()
        return pbegin | "Poll" >> TestStream(endpoint=self.service.endpoint)

    def stop(self):
        if self.service is not None:
            self.service.stop()
