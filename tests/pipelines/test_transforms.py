"""The composites on Beam's TestPipeline, runner named explicitly (the default tries a download)."""

import gzip
import json

import apache_beam as beam
import pyarrow as pa
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from ingest.landing import discover
from pipelines.transforms import (
    DAILY,
    REJECTED,
    STATS,
    TRAILING,
    DeduplicateEvents,
    ParseEvents,
    WindowEngagement,
)
from tests.conftest import INGEST_US, event

RUNNER = PipelineOptions(["--runner=FnApiRunner"])


def rows_of(columns):
    """Arrow tables -> flat list of tuples of the given columns (Beam compares lists of elements)."""

    def explode(table: pa.Table):
        return [tuple(r[c] for c in columns) for r in table.select(columns).to_pylist()]

    return explode


def write_landing(tmp_path):
    one = [event(event_id="e1"), event(event_id="e2", actor_id="carol"), {"bad": 1}]
    two = [event(event_id="e1"), event(event_id="e1", platform="tiktok")]
    (tmp_path / "d1").mkdir()
    (tmp_path / "d1" / "a.jsonl").write_text("\n".join(json.dumps(e) for e in one) + "\n\n")
    (tmp_path / "d2").mkdir()
    (tmp_path / "d2" / "b.ndjson.gz").write_bytes(
        gzip.compress("\r\n".join(json.dumps(e) for e in two).encode())
    )
    return discover(tmp_path)


def test_parse_dedup_and_window_compose(tmp_path):
    files = write_landing(tmp_path)
    from datetime import date

    as_of_day = (date(2026, 11, 21) - date(1970, 1, 1)).days
    with TestPipeline(options=RUNNER) as p:
        parsed = p | beam.Create(files) | ParseEvents(INGEST_US, "run-1")
        stored = p | "NoStored" >> beam.Create([], reshuffle=False)
        deduped = (parsed.events, stored) | DeduplicateEvents(
            num_buckets=4, spill_dir=str(tmp_path / "spill-dedup")
        )
        windows = deduped.events | WindowEngagement(
            as_of_day, num_buckets=4, spill_dir=str(tmp_path / "spill-windows")
        )

        assert_that(
            deduped.events | "EventRows" >> beam.FlatMap(rows_of(["platform", "event_id", "source_file"])),
            equal_to(
                [
                    ("instagram", "e1", "d1/a.jsonl"),
                    ("instagram", "e2", "d1/a.jsonl"),
                    ("tiktok", "e1", "d2/b.ndjson.gz"),
                ]
            ),
            label="OneRowPerEvent",
        )
        assert_that(
            parsed[REJECTED]
            | "RejectRows" >> beam.FlatMap(rows_of(["source_file", "source_line", "reason"])),
            equal_to([("d1/a.jsonl", 3, "missing_field")]),
            label="DeadLetter",
        )
        assert_that(
            parsed[STATS] | "Lines" >> beam.Map(lambda c: (c["lines_read"], c["blank"], c["valid"])),
            equal_to([(4, 1, 2), (2, 0, 2)]),
            label="LineCounts",
        )
        assert_that(
            deduped[STATS]
            | "DedupPairs" >> beam.Map(lambda s: (s.accepted, s.duplicates))
            | "DedupTotals"
            >> beam.CombineGlobally(lambda pairs: tuple(map(sum, zip(*pairs))) if pairs else (0, 0)),
            equal_to([(3, 1)]),
            label="DedupCounts",
        )
        assert_that(
            windows[DAILY]
            | "DailyRows" >> beam.FlatMap(rows_of(["platform", "profile_id", "likes", "unique_engagers"])),
            equal_to([("instagram", "alice", 2, 2), ("tiktok", "alice", 1, 1)]),
            label="Daily",
        )
        assert_that(
            windows[TRAILING]
            | "TrailingRows" >> beam.FlatMap(rows_of(["platform", "window_days", "likes"]))
            | "CountPerKey" >> beam.combiners.Count.PerElement(),
            # 2026-11-20 .. 2026-11-21: two window ends for each length and platform.
            equal_to(
                [
                    (("instagram", 7, 2), 2),
                    (("instagram", 14, 2), 2),
                    (("instagram", 28, 2), 2),
                    (("tiktok", 7, 1), 2),
                    (("tiktok", 14, 1), 2),
                    (("tiktok", 28, 1), 2),
                ]
            ),
            label="Trailing",
        )


def test_a_cut_gz_keeps_its_lines_before_the_cut_and_the_cut_is_one_rejected_record(tmp_path):
    body = "".join(json.dumps(event(event_id=f"e{i}")) + "\n" for i in range(400)).encode()
    packed = gzip.compress(body)
    (tmp_path / "cut.jsonl.gz").write_bytes(packed[: len(packed) // 2])
    files = discover(tmp_path)
    with TestPipeline(options=RUNNER) as p:
        parsed = p | beam.Create(files) | ParseEvents(INGEST_US, "run-1")
        kept = parsed.events | "Count" >> beam.Map(lambda t: t.num_rows) | beam.CombineGlobally(sum)
        assert_that(kept, lambda got: got[0] > 50 or (_ for _ in ()).throw(AssertionError(got)), label="Kept")
        assert_that(
            parsed[REJECTED]
            | "RejectRows"
            >> beam.FlatMap(
                lambda t: [(r["source_file"], r["reason"], "at byte" in r["detail"]) for r in t.to_pylist()]
            ),
            equal_to([("cut.jsonl.gz", "corrupt_file", True)]),
            label="OneCorruptRecord",
        )
        assert_that(
            parsed[STATS]
            | "Identity"
            >> beam.Map(lambda c: c["lines_read"] == c["valid"] + c["blank"] + sum(c["rejected"].values())),
            equal_to([True]),
            label="Accounting",
        )
