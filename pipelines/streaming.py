"""Streaming mode: the same parsing and metric logic as the batch pipeline, with Beam event time.

Flow (every step is a composite transform; windowing, trigger and lateness are constructor
arguments):

    lines (source_file, line_no, raw bytes), timestamped with their *arrival* time
      -> ParseStream       events timestamped with event_time; tagged `rejected`, `too_late`
      -> BookPostCounters  the events of posts, keyed by post (stateful, global window): versioned
                           counter bookings per day ("day sets") for the day windows; `too_late`
                           for a change on a closed day (pipelines/stream/counters.py)
      -> WindowDailyEngagement            FixedWindows(1 day); copies deduplicated per profile-day
      -> WindowTrailingEngagement(N)      SlidingWindows(N days, 1 day) over the daily partials
      -> WriteStreamPartitions            stateful per partition, atomic directory swap

Metrics are never reimplemented here: each pane's events become an Arrow table
(`tables.events_table`) and go through `engagement.daily_engagement` /
`engagement.trailing_engagement`. Per-element Beam windowing is costly (PLATFORM.md), which
is acceptable for streaming, where watermarks and panes are the point.

Too-late detection
------------------
Beam drops an element from a window once the watermark has passed
`window.end + allowed_lateness`, silently. We cannot read the watermark in a DoFn, so
`ParseStream` compares the event's day against the line's *arrival timestamp*, the
timestamp the line carries before it is re-stamped with its event_time: for the file
watcher that is the event-time watermark when the line was read (`source.EventTimeClock`:
the latest accepted event time minus the out-of-orderness, moved after each file); for a
`TestStream` it is the watermark at which the line was added. (The wall-clock arrival, which
decides `future_event`, travels in the line itself.) An event is too late when

    end of its UTC day + allowed_lateness <= arrival timestamp

and it then goes to the `too_late` output (with a reason) and to no window at all, so the
daily and trailing rows always describe the same set of events. A line's arrival
timestamp is never behind the watermark, and a pending element holds the downstream
watermark back, so an event that is *not* flagged cannot be dropped by a window
(its day window and every sliding window that contains it end at or after its day's end).
Limits: (1) the rule is only as good as the source's arrival stamps: a source whose
watermark runs ahead of the timestamps it puts on lines would let Beam drop data silently;
(2) an event that is too late for its day is also withheld from the 7/28-day windows that
are still open (consistency over completeness). The watermark follows event time, so a
stream started over history replays it (docs/streaming.md).

Post counters
-------------
A post's bookings depend on its whole observation history, which spans days, so they cannot be
computed inside one day window. `BookPostCounters` keeps the history per post and sends each day
whose bookings changed its whole new set, versioned; the day window keeps each post's newest set
and passes it to `engagement.daily_engagement` as `bookings`. An event whose change would land on
a closed day (same rule as above, against its arrival stamp) is refused to `too_late`: the
stream's rows stay those of the batch over the events the stream accepted. The state is stored
beside the manifest (`storage/stream_posts.py`) and seeded on restart from the files the replay
does not cover (docs/streaming.md, "Post counters").

Restarts (Ctrl-C, then `microradar stream` again)
-------------------------------------------------
Beam's state (dedup, accumulated panes) lives in the process and dies with it. The sink
*replaces* a profile's row with each pane, and an accumulating pane holds the whole window,
so a restarted stream that started from empty windows would, on the next late event, replace a
row with the post-restart events alone. And rereading every landed file would write every
dead letter again. So the stream keeps a manifest of the files it consumed
(`_meta/stream_manifest.parquet`, `pipelines/stream_manifest.py`; separate from the nightly
manifest because the nightly flow must still ingest those files into `events`), and on start:

1. files in the manifest are not read as new; one whose content changed (same path, other
   SHA-256) is logged as an error and skipped, as the nightly flow refuses it;
2. the files that arrived within lateness + 30 days are *replayed* first, in the order they
   were consumed, each line carrying its first wall-clock arrival (the manifest's
   `ingested_at`); the event-time watermark moves after each file as it did the first time
   (same files, same order), so too-late, future-event and dedup decisions come out as they
   did, and the rebuilt windows hold the events the earlier runs accepted (the first replayed
   files can meet a lower watermark than the first time: see the limits);
3. when older consumed files were not replayed, rows of windows starting before the replay
   horizon + 1 day are not written (`stream_manifest.complete_from_us`): the replay may hold
   only part of their events; their rows stay as written;
4. dead letters are written insert-if-absent by (source_file, source_line): a replayed line
   keeps its arrival stamp, hence its `ingest_date` partition, and is not recorded twice.

Delivery: a poll records the files it consumed *before* handing their lines to the pipeline,
and a restart replays recent files whether or not their lines got through, so lines reach the
pipeline at least once; the replace-by-key and insert-if-absent sinks plus dedup make them
count once. A run killed between reading a file and recording it reads it again as new (with
a new arrival stamp): still counted once in the windows. Limits: a line the earlier run found
too late, in one of the first replayed files, can be accepted by the replay (the watermark
starts lower than the first run's was); windows starting before the replay horizon keep the
rows the earlier run wrote (the nightly flow recomputes them); a changed or deleted file is left out of the rebuilt windows; the replay
re-reads up to lateness + 30 days of consumed files at each start, and rewrites the rows of the
windows it rebuilds (same values); keep `--allowed-lateness` the same across restarts (the
replay judges lateness with the current value). The stream's rows replace rows for the same
key whoever wrote them: a stream pane for a day the nightly flow already computed from more
events replaces that row until the next nightly run recomputes it.
"""

from __future__ import annotations

# The code lives in pipelines/stream/ by concern; this module keeps the design notes above and the
# names callers import.
from pipelines.stream.options import (  # noqa: F401
    DEFAULT_ALLOWED_LATENESS_S,
    DEFAULT_GRACE_S,
    DEFAULT_OUT_OF_ORDERNESS_S,
    parse_duration_s,
    streaming_options,
)
from pipelines.stream.publish import (  # noqa: F401
    TOO_LATE_DATASET,
    StorePostStateFn,
    UpsertPartitionFn,
    WriteStreamOutputs,
    WriteStreamPartitions,
    dead_letter_row,
    ends_by_horizon,
    set_horizon,
)
from pipelines.stream.run import StopSignals, run_stream  # noqa: F401
from pipelines.stream.source import EventTimeClock, LandingPoller, WatchLanding, peek_event_us  # noqa: F401
from pipelines.stream.windowing import (  # noqa: F401
    DAY_SETS,
    EVENTS,
    PARTIALS,
    REJECTED_TAG,
    TOO_LATE,
    BookPostCounters,
    DailyPaneFn,
    ParseLineFn,
    ParseStream,
    PostCountersFn,
    StreamEngagement,
    TrailingPaneFn,
    WindowDailyEngagement,
    WindowTrailingEngagement,
    window_events_table,
)
