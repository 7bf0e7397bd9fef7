"""Property tests (Hypothesis, bounded): no line, however odd, crashes the parser, both parse
paths agree, and every line is accounted: lines = accepted + rejected + blank."""

import json

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest import parse_block
from ingest.parse import EVENT_COLUMNS, Reject, parse_line
from schemas.events import EVENT_TYPES, REJECT_REASONS, TYPE_FIELDS
from tests.conftest import INGEST_US, event

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FIELDS = sorted(
    {f.name for fs in TYPE_FIELDS.values() for f in fs}
    | {"event_id", "event_type", "event_time", "platform", "profile_id", "schema_version"}
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**64), max_value=2**64),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
    st.sampled_from(
        [
            "2026-11-20T10:00:00Z",
            "0001-01-01T00:00:00+01:00",
            "1900-01-01T00:00:00Z",
            "9999-12-31T23:59:59-23:59",
            "2026-02-30T00:00:00Z",
            "2004-01-01T00:00:00Z",
            *EVENT_TYPES,
        ]
    ),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
# Objects that look like events: a valid base, some contract fields overwritten with anything.
event_like = st.builds(
    lambda event_type, overrides, drops: {
        k: v for k, v in {**event(event_type), **overrides}.items() if k not in drops
    },
    st.sampled_from(EVENT_TYPES),
    st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=4),
    st.sets(st.sampled_from(FIELDS), max_size=2),
)


def outcome(raw: bytes):
    parsed = parse_line(raw, INGEST_US)
    assert parsed is None or isinstance(parsed, (Reject, tuple))
    if isinstance(parsed, Reject):
        assert parsed.reason in REJECT_REASONS
    elif parsed is not None:
        assert len(parsed) == len(EVENT_COLUMNS)
    return parsed


def check_block(lines: list[bytes]):
    """parse_block never crashes, agrees with parse_line line for line, and accounts every line."""
    block = parse_block.parse_block(lines, 1, INGEST_US, "f.jsonl")
    per_line = [outcome(raw) for raw in lines]
    rejects = [(i + 1, raw, p) for i, (raw, p) in enumerate(zip(lines, per_line)) if isinstance(p, Reject)]
    accepted = [i + 1 for i, p in enumerate(per_line) if isinstance(p, tuple)]
    assert block.rejects == rejects
    assert block.events["source_line"].to_pylist() == accepted
    assert block.blank == sum(p is None for p in per_line)
    assert len(lines) == block.events.num_rows + len(block.rejects) + block.blank
    if accepted:  # accepted rows store what parse_line returned (event_time as µs)
        stored = block.events.drop_columns(["source_file", "source_line", "event_date"])
        times = stored["event_time"].cast(pa.int64()).to_pylist()
        for row, t, p in zip(stored.to_pylist(), times, [p for p in per_line if isinstance(p, tuple)]):
            expected = dict(zip(EVENT_COLUMNS, p))
            assert dict(row, event_time=t) == {k: expected[k] for k in row}


@SETTINGS
@given(st.lists(st.binary(max_size=200), max_size=8))
def test_arbitrary_bytes_never_crash_and_are_accounted(lines):
    lines = [raw.replace(b"\n", b" ").replace(b"\r", b" ") for raw in lines]  # one line each
    check_block(lines)


@SETTINGS
@given(
    st.lists(
        st.one_of(json_values, st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=8)), max_size=6
    )
)
def test_arbitrary_json_never_crashes_and_is_accounted(values):
    check_block([json.dumps(v).encode() for v in values])


@SETTINGS
@given(st.lists(event_like, min_size=1, max_size=8), st.booleans())
def test_event_like_objects_parse_alike_on_both_paths(objs, ascii_only):
    check_block([json.dumps(o, ensure_ascii=ascii_only).encode() for o in objs])
