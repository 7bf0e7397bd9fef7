"""The columnar block parser must give exactly what per-line parsing gives, line for line."""

import json
import random

import pyarrow as pa
import pytest

from ingest import parse_block
from ingest.parse import EVENT_COLUMNS, Reject, parse_line
from ingest.tables import events_table
from tests.conftest import INGEST_US, event

TYPES = ("post", "like", "comment", "share", "save", "profile_snapshot", "follow", "post_metrics")
# Odd values of each field's own JSON type: pyarrow reads them, so the vectorised checks must judge them.
SAME_TYPE = {
    pa.string(): [
        "",
        "x",
        "Instagram",
        "ınstagram",
        "İnstagram",
        "e" * 129,
        "e" * 128,
        "image",
        "gif",
        "like",
        "post",
        "profile_snapshot",
        "alice",
        'a"b',
        "a\\b",
        "tab\there",
        "é",
        "\u2028",
        "\x7f",
        "nul\x00here",
        "c1\x85",
        "\x9f",
        "\xa0",
        "é" * 64,
        "é" * 65,
        "x" * 65536,
        "é" * 32769,
        "US",
        "pt-BR",
    ],
    pa.int64(): [0, -1, 1, 2, 1000, 12_000, -(2**63), 2**63 - 1],
    pa.bool_(): [True, False],
    pa.list_(pa.string()): [
        [],
        ["a"],
        ["a", None],
        [None],
        ['q"', "é", "x"],
        ["t"] * 1000,
        ["t"] * 1001,
        ["x" * 65537],
        ["\x00"],
    ],
}
# Values of another JSON type: the piece fails to read and goes per line.
OTHER_TYPE = [1.0, 1.5, 2**63, True, "1", [1], {"k": 1}]
TIMES = [
    "2026-11-20T10:00:00Z",
    "2026-11-20t10:00:00z",
    "2026-11-20 10:00:00+00:00",
    "2026-11-20T10:00:00.5+01:00",
    "2026-11-20T10:00:00.123456-05:00",
    "2026-11-20T10:00:00.1234567+05:30",
    "2026-11-20T10:00:00.123456789Z",
    "2026-11-20T10:00:00",
    "2026-02-30T10:00:00Z",
    "2026-02-28T24:00:00Z",
    "2026-11-20T23:59:60Z",
    "2026-11-20T10:60:00Z",
    "2026-11-20T10:00:00+24:00",
    "2026-11-20T10:00:00-23:59",
    "2026-11-20T10:00:00+05:75",
    "2026-11-20T10:00:00.Z",
    "0001-01-01T00:00:00Z",
    "1969-12-31T23:59:59Z",
    "1970-01-01T00:00:00Z",
    "2026-11-26T06:00:00Z",
    "2026-11-26T06:00:00.000001Z",
    "2026-11-26T11:00:00+05:00",
    "٢٠٢٦-11-20T10:00:00Z",
    "2026-11-20T10:00:00+0100",
    "2026-1-20T10:00:00Z",
    "2024-02-29T00:00:00Z",
    "2026-11-20T10:00:00 Z",
    "x",
    "1900-01-01T00:00:00Z",
    "2003-12-31T23:59:59.999999Z",
    "2004-01-01T00:00:00Z",
    "2004-01-01T00:30:00+01:00",
    "2004-01-01T00:00:00-00:01",
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-23:59",
]
RAW_LINES = [
    b"",
    b"   ",
    b"\t",
    b"[1, 2]",
    b'"x"',
    b"null",
    b'{"event_id": "\xff"}',
    b'{"a": 1} {"b": 2}',
    b'\xef\xbb\xbf{"event_id": "e"}',
    b'{"event_id": "e1",}',
    b'{"event_id": "\\ud800"}',
    b"{}",
    b'{"event_id": "e1", "event_id": "e2"}',
    b' {"event_id": "e"}',
    b"{",
    b"}",
    b'{"event_id": 1e2}',
]


def fuzz_lines(seed: int, n: int) -> list[bytes]:
    rng = random.Random(seed)
    lines = []
    for i in range(n):
        roll = rng.random()
        if roll < 0.01:
            lines.append(rng.choice(RAW_LINES))
            continue
        obj = event(rng.choice(TYPES), event_id=f"e{i % 97}", event_time=rng.choice(TIMES[:7]))
        obj.setdefault("actor_id", "bob") if rng.random() < 0.3 else None
        if rng.random() < 0.2:
            obj.update(
                hashtags=["a", "b"],
                mentions=[],
                media_type="video",
                sponsored=rng.choice([True, None]),
                reply_to="c1",
                followers=rng.choice([5, 0]),
                following=3,
                media_count=None,
            )
        if rng.random() < 0.3:  # contract v2 fields, each set or not
            v2 = dict(
                likes=10,
                comments=0,
                shares=2,
                saves=None,
                views=1000,
                followers_precision=rng.choice([1, 1000]),
                handle="alice",
                display_name="Alice é",
                country="US",
                language="en",
                schema_version=rng.choice([1, 2, None]),
            )
            obj.update({k: v for k, v in v2.items() if rng.random() < 0.5})
        if roll < 0.5:  # mutate one or two fields
            for _ in range(rng.randint(1, 2)):
                name = rng.choice(parse_block.JSON_SCHEMA.names)
                kind = rng.random()
                if kind < 0.1:
                    obj.pop(name, None)
                elif kind < 0.2:
                    obj[name] = None
                elif kind < 0.23:
                    obj[name] = rng.choice(OTHER_TYPE)
                elif name == "event_time":
                    obj[name] = rng.choice(TIMES)
                else:
                    obj[name] = rng.choice(SAME_TYPE[parse_block.JSON_SCHEMA.field(name).type])
        lines.append(json.dumps(obj, ensure_ascii=rng.random() < 0.5).encode())
    return lines


def per_line(lines: list[bytes], first: int, source: str):
    rows, numbers, rejects, blank = [], [], [], 0
    for i, raw in enumerate(lines):
        parsed = parse_line(raw, INGEST_US)
        if parsed is None:
            blank += 1
        elif isinstance(parsed, Reject):
            rejects.append((first + i, raw, parsed))
        else:
            rows.append(parsed)
            numbers.append(first + i)
    return events_table(rows, source, numbers), rejects, blank


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_block_parse_equals_per_line_parse(seed, monkeypatch):
    lines = fuzz_lines(seed, 3000)
    slow = []
    real = parse_block.parse.parse_line
    monkeypatch.setattr(
        parse_block.parse, "parse_line", lambda raw, us, *a: slow.append(raw) or real(raw, us, *a)
    )
    block = parse_block.parse_block(lines, 11, INGEST_US, "f.jsonl")
    monkeypatch.undo()
    expected_events, expected_rejects, expected_blank = per_line(lines, 11, "f.jsonl")
    assert block.blank == expected_blank
    assert block.rejects == expected_rejects
    assert block.events.to_pylist() == expected_events.to_pylist()
    assert block.events.schema == expected_events.schema
    # the corpus exercises both paths: plenty of rows accepted fast, plenty rejected
    assert block.events.num_rows - (len(slow) - len(block.rejects) - block.blank) > 500
    assert len(block.rejects) > 300


def test_a_clean_block_is_accepted_without_the_per_line_path(monkeypatch):
    lines = [json.dumps(event(t, event_id=f"e{i}")).encode() for i, t in enumerate(TYPES * 50)]
    monkeypatch.setattr(parse_block.parse, "parse_line", lambda *a: pytest.fail("went per line"))
    block = parse_block.parse_block(lines, 1, INGEST_US, "f.jsonl")
    assert block.events.num_rows == len(lines) and block.events["source_line"].to_pylist() == list(
        range(1, len(lines) + 1)
    )


def test_one_bad_line_sends_only_its_small_piece_per_line(monkeypatch):
    lines = [json.dumps(event(event_id=f"e{i}")).encode() for i in range(1000)]
    lines[500] = b'{"event_id": "e500", "event_type": '
    seen = []
    real = parse_block.parse.parse_line
    monkeypatch.setattr(
        parse_block.parse, "parse_line", lambda raw, us, *a: seen.append(raw) or real(raw, us, *a)
    )
    block = parse_block.parse_block(lines, 1, INGEST_US, "f.jsonl")
    assert len(seen) <= parse_block.MIN_PIECE_LINES
    assert [r[0] for r in block.rejects] == [501] and block.rejects[0][2].reason == "invalid_json"
    assert block.events.num_rows == 999


def test_payload_hash_matches_the_per_line_definition():
    lines = [json.dumps(event("post", hashtags=["a"], sponsored=None)).encode()]
    block = parse_block.parse_block(lines, 1, INGEST_US, "f.jsonl")
    expected = dict(zip(EVENT_COLUMNS, parse_line(lines[0], INGEST_US)))
    assert block.events["payload_hash"].to_pylist() == [expected["payload_hash"]]
    assert block.events["sponsored"].to_pylist() == [False]
    assert block.events.schema.field("event_time").type == pa.timestamp("us", tz="UTC")
