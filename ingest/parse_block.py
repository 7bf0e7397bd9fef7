"""Parse a block of landed lines at columnar speed, with `parse.parse_line` as the referee.

Per-line Python validation costs ~18 µs a line, most of a night's CPU (PLATFORM.md: per-element
cost dominates). Here a block of lines is parsed by pyarrow's JSON reader, a few thousand lines a
call, and checked with compute kernels in one pass. The fast path only ever *accepts*: a line it cannot vouch for (a
JSON error in its piece, any value outside the vectorised checks, anything unusual) goes through
`parse.parse_line`, which stays the single definition of the contract and of every reject
reason. So a block's result is exactly what per-line parsing gives, line for line;
tests/pipelines/test_parse_block.py checks that on a fuzzed corpus.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from ingest import parse, tables
from schemas import events as contract
from schemas.units import US_PER_S

# The JSON reader gets pieces of this many lines (small pieces measured as fast as big ones). A
# piece that fails to read is split in two until pieces of MIN_PIECE_LINES go per line: one bad
# line costs a few re-reads of its neighbourhood, not of the block.
PIECE_LINES = 2048
MIN_PIECE_LINES = 16

_JSON_TYPES = {
    "id": pa.string(),
    "string": pa.string(),
    "integer": pa.int64(),
    "boolean": pa.bool_(),
    "string_list": pa.list_(pa.string()),
    "timestamp": pa.string(),
}
_FIELDS = {f.name: f for f in contract.COMMON_FIELDS}
for _type_fields in contract.TYPE_FIELDS.values():
    _FIELDS.update({f.name: f for f in _type_fields})
# Every contract field with its JSON type: a value of another JSON type makes pyarrow fail the
# piece, which then goes per line (where a wrong type in a field the event type ignores is fine).
JSON_SCHEMA = pa.schema([(name, _JSON_TYPES[f.kind]) for name, f in _FIELDS.items()])
_PARSE_OPTIONS = pj.ParseOptions(explicit_schema=JSON_SCHEMA, unexpected_field_behavior="ignore")
# Beam parallelises across blocks already; a piece always fits one reader block.
_READ_OPTIONS = pj.ReadOptions(use_threads=False, block_size=16 << 20)

# The layout nearly every producer writes (upper-case T and Z, at most 6 fraction digits, year
# 1970 or later): Arrow's ISO-8601 cast reads it exactly as Python does, or fails the whole
# array (2026-02-30), and then `_event_us_by_parts` decides value by value.
_COMMON_TIMESTAMP = (
    r"^(19[7-9][0-9]|[2-9][0-9]{3})-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})$"
)
# Control characters in an id (RE2 syntax of contract.CONTROL_CHARS).
_CONTROL = r"[\x00-\x1f\x7f-\x{9f}]"
# Which event types carry each payload column (parse_line drops a field its type does not carry).
_CARRIED_BY: dict[str, list[str]] = {}
for _event_type, _type_fields in contract.TYPE_FIELDS.items():
    for _f in _type_fields:
        _CARRIED_BY.setdefault(_f.name, []).append(_event_type)

# RFC 3339 with an offset, ASCII digits only (Python's \d in parse.py also takes other scripts'
# digits: those lines go per line).
_TIMESTAMP = (
    r"^(?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2})[Tt ](?P<h>[0-9]{2}):(?P<m>[0-9]{2}):(?P<s>[0-9]{2})"
    r"(?P<frac>\.[0-9]+)?(?P<off>[Zz]|[+-][0-9]{2}:[0-9]{2})$"
)


@dataclass
class BlockResult:
    events: pa.Table  # tables.EVENT_ROW_SCHEMA, ordered by source_line
    rejects: list[tuple] = field(default_factory=list)  # (line number, raw line, parse.Reject)
    blank: int = 0


def parse_block(
    lines: list[bytes], first_number: int, ingest_us: int, source_file: str, min_event_us: int | None = None
) -> BlockResult:
    """Lines of `source_file` (terminators stripped) numbered from `first_number` -> events, rejects, blanks.
    min_event_us: as parse.parse_line (default Config.min_event_time)."""
    if min_event_us is None:
        min_event_us = parse.DEFAULT_MIN_EVENT_US
    # The JSON reader skips blank lines and would read `{..} {..}` as two rows: only lines that
    # look like one object go to it, and a piece whose row count differs goes per line.
    candidates = [i for i, raw in enumerate(lines) if raw[:1] == b"{" and raw[-1:] == b"}"]
    read: list[tuple[pa.RecordBatch, list[int]]] = []
    slow: list[int] = []
    for start in range(0, len(candidates), PIECE_LINES):
        _read_piece(lines, candidates[start : start + PIECE_LINES], read, slow)
    parts = []
    if read:
        table = pa.Table.from_batches([batch for batch, _ in read]).combine_chunks().to_batches()[0]
        index = pa.array([i for _, indexes in read for i in indexes], pa.int64())
        event_us, ok = _checked(table, ingest_us, min_event_us)
        if pc.any(ok).as_py():
            columns = _typed_columns(table.filter(ok), event_us.filter(ok))
            parts.append(
                tables.events_from_columns(columns, source_file, pc.add(index.filter(ok), first_number))
            )
        slow += index.filter(pc.invert(ok)).to_pylist()
    others = np.setdiff1d(np.arange(len(lines)), np.asarray(candidates, dtype=np.int64), assume_unique=True)
    rows, row_lines, rejects, blank = [], [], [], 0
    for i in sorted(slow + others.tolist()):
        parsed = parse.parse_line(lines[i], ingest_us, min_event_us)
        if parsed is None:
            blank += 1
        elif isinstance(parsed, parse.Reject):
            rejects.append((first_number + i, lines[i], parsed))
        else:
            rows.append(parsed)
            row_lines.append(first_number + i)
    if rows or not parts:
        parts.append(tables.events_table(rows, source_file, row_lines))
    events = pa.concat_tables(parts).combine_chunks()
    if len(parts) > 1:  # fast rows come in line order, per-line rows after them
        events = events.sort_by("source_line")
    return BlockResult(events, rejects, blank)


def _read_piece(lines, indexes: list[int], read: list, slow: list) -> None:
    """Read lines[indexes] with the JSON reader into `read` as (batch, indexes); a piece that fails
    is halved until pieces of MIN_PIECE_LINES go to `slow` (per-line parsing)."""
    if not indexes:
        return
    batch = _read(lines, indexes)
    if batch is not None:
        read.append((batch, indexes))
    elif len(indexes) <= MIN_PIECE_LINES:
        slow.extend(indexes)
    else:
        half = len(indexes) // 2
        _read_piece(lines, indexes[:half], read, slow)
        _read_piece(lines, indexes[half:], read, slow)


def _read(lines, indexes: list[int]) -> pa.RecordBatch | None:
    data = b"\n".join([lines[i] for i in indexes])
    try:
        data.decode("utf-8")  # pyarrow does not reject every invalid byte sequence
        table = pj.read_json(pa.BufferReader(data), read_options=_READ_OPTIONS, parse_options=_PARSE_OPTIONS)
    except (pa.ArrowInvalid, UnicodeDecodeError):
        return None
    # one batch: plain arrays are what the compute kernels below index into
    return table.combine_chunks().to_batches()[0] if table.num_rows == len(indexes) else None


def _non_empty(column) -> pa.ChunkedArray:
    return pc.fill_null(pc.greater(pc.utf8_length(column), 0), False)


def _null_or(column, mask) -> pa.ChunkedArray:
    return pc.or_(pc.is_null(column), pc.fill_null(mask, False))


def _items_ok(column) -> pa.Array:
    """Per row: the list holds at most LIST_MAX_ITEMS items, none null or over STRING_MAX_BYTES
    (a null list is fine)."""
    flat = pc.list_flatten(column)
    parents = pc.list_parent_indices(column)
    bad_item = pc.fill_null(pc.greater(pc.binary_length(flat), contract.STRING_MAX_BYTES), True)
    bad = np.zeros(len(column), dtype=bool)
    bad[parents.filter(bad_item).to_numpy()] = True
    too_long = pc.fill_null(
        pc.greater(pc.list_value_length(column), contract.LIST_MAX_ITEMS), False
    ).to_numpy(zero_copy_only=False)
    return pa.array(~(bad | too_long))


def _id_ok(column) -> pa.Array:
    """Per row: null, or an id of at most ID_MAX_LEN chars without control characters."""
    fits = pc.less_equal(pc.utf8_length(column), contract.ID_MAX_LEN)
    return _null_or(column, pc.and_(fits, pc.invert(pc.match_substring_regex(column, _CONTROL))))


def _field_ok(t: pa.RecordBatch, f: contract.Field) -> pa.Array:
    """Per row: field f passes parse._field (for a row whose event type carries f)."""
    column = t[f.name]
    if f.kind == "id":
        ok = pc.and_(_id_ok(column), _non_empty(column) if f.name != "reply_to" else pa.scalar(True))
        return ok if f.required else pc.or_(pc.is_null(column), pc.fill_null(ok, False))
    if f.kind == "integer":
        ok = pc.greater_equal(column, f.minimum) if f.minimum is not None else pc.is_valid(column)
        return pc.fill_null(ok, False) if f.required else _null_or(column, ok)
    if f.kind == "string":
        ok = pc.less_equal(pc.binary_length(column), contract.STRING_MAX_BYTES)
        if f.name == "media_type":
            ok = pc.and_(ok, pc.is_in(column, pa.array(contract.MEDIA_TYPES)))
        return _null_or(column, ok)
    if f.kind == "string_list":
        return _items_ok(column)
    return pa.repeat(pa.scalar(True), len(column))  # boolean: typed by the reader already


def _event_us(times: pa.Array) -> tuple[pa.Array, pa.Array]:
    """event_time text -> (microseconds since the epoch, mask of values the fast path may accept)."""
    common = pc.fill_null(pc.match_substring_regex(times, _COMMON_TIMESTAMP), False)
    try:
        parsed = pc.cast(pc.if_else(common, times, "1970-01-01T00:00:00Z"), pa.timestamp("us", "UTC"))
    except pa.ArrowInvalid:
        return _event_us_by_parts(times)
    return pc.cast(parsed, pa.int64()), common


def _event_us_by_parts(times: pa.Array) -> tuple[pa.Array, pa.Array]:
    """Like _event_us for any RFC 3339 layout, value by value (slower: regex groups, strftime)."""
    parts = pc.extract_regex(pc.fill_null(times, ""), _TIMESTAMP)
    matched = pc.is_valid(parts)
    parts = pc.fill_null(
        parts, pa.scalar({n: "" for n in ("date", "h", "m", "s", "frac", "off")}, parts.type)
    )

    def number(name, start=0, stop=None):
        text = pc.utf8_slice_codeunits(parts.field(name), start, stop)  # '' for no match or a 'Z' offset
        return pc.cast(pc.if_else(pc.greater(pc.utf8_length(text), 0), text, "0"), pa.int64())

    date = parts.field("date")
    midnight = pc.strptime(date, format="%Y-%m-%d", unit="s", error_is_null=True)
    # strptime rolls 2026-02-30 over to March; Python refuses it, so must we.
    real_date = pc.fill_null(pc.equal(pc.strftime(midnight, format="%Y-%m-%d"), date), False)
    h, m, s = number("h"), number("m"), number("s")
    off = parts.field("off")
    zulu = pc.is_in(off, pa.array(["Z", "z", ""]))
    off_h, off_m = number("off", 1, 3), number("off", 4, 6)
    sign = pc.if_else(pc.starts_with(off, "-"), -1, 1)
    offset_s = pc.if_else(
        zulu, 0, pc.multiply(sign, pc.add(pc.multiply(off_h, 3600), pc.multiply(off_m, 60)))
    )
    # fraction: '.' + digits, truncated to microseconds like parse_timestamp_us
    frac_digits = pc.utf8_slice_codeunits(parts.field("frac"), 1, 7)
    frac_us = pc.cast(pc.utf8_rpad(frac_digits, 6, "0"), pa.int64())
    seconds = pc.add(
        pc.cast(pc.fill_null(midnight, 0), pa.int64()),
        pc.subtract(pc.add(pc.add(pc.multiply(h, 3600), pc.multiply(m, 60)), s), offset_s),
    )
    event_us = pc.add(pc.multiply(seconds, US_PER_S), frac_us)
    plain = pc.and_(pc.and_(pc.less(h, 24), pc.less(m, 60)), pc.and_(pc.less(s, 60), pc.less(off_h, 24)))
    plain = pc.and_(plain, pc.less(off_m, 60))
    # Years before 1970 go per line (and are as rare as they are suspicious).
    plain = pc.and_(plain, pc.greater_equal(number("date", 0, 4), 1970))
    return event_us, pc.and_(pc.and_(matched, real_date), plain)


def _checked(t: pa.RecordBatch, ingest_us: int, min_event_us: int) -> tuple[pa.Array, pa.Array]:
    """(event_time in µs, mask of rows that pass every check of parse._validate)."""
    etype = t["event_type"]
    ok = pc.and_(pc.is_in(etype, pa.array(contract.EVENT_TYPES)), _non_empty(t["event_id"]))
    for name in ("event_time", "platform", "profile_id"):
        ok = pc.and_(ok, _non_empty(t[name]))
    for name in ("event_id", "platform", "profile_id"):
        ok = pc.and_(ok, pc.fill_null(_id_ok(t[name]), False))
    # Python's str.lower and Arrow's differ outside ASCII: non-ASCII platforms go per line.
    platform = t["platform"]
    ok = pc.and_(ok, pc.and_(pc.string_is_ascii(platform), pc.equal(pc.ascii_lower(platform), platform)))
    ok = pc.and_(
        ok,
        _null_or(
            t["schema_version"], pc.is_in(t["schema_version"], pa.array(contract.SCHEMA_VERSIONS, pa.int64()))
        ),
    )

    by_type = pa.repeat(pa.scalar(False), len(etype))
    checked: dict[contract.Field, pa.Array] = {}  # a field shared by several types is checked once
    for event_type, fields in contract.TYPE_FIELDS.items():
        type_ok = pc.equal(etype, event_type)
        for f in fields:
            if f not in checked:
                checked[f] = pc.fill_null(_field_ok(t, f), False)
            type_ok = pc.and_(type_ok, checked[f])
        needed = contract.AT_LEAST_ONE.get(event_type, ())
        if needed:
            any_set = pc.is_valid(t[needed[0]])
            for name in needed[1:]:
                any_set = pc.or_(any_set, pc.is_valid(t[name]))
            type_ok = pc.and_(type_ok, any_set)
        by_type = pc.or_(by_type, pc.fill_null(type_ok, False))
    ok = pc.and_(ok, by_type)

    event_us, time_ok = _event_us(t["event_time"])
    ok = pc.and_(ok, time_ok)
    ok = pc.and_(ok, pc.greater_equal(event_us, min_event_us))
    ok = pc.and_(ok, pc.less_equal(event_us, ingest_us + contract.FUTURE_TOLERANCE_SECONDS * US_PER_S))
    return event_us, pc.fill_null(ok, False)


def _only(mask, column) -> pa.Array:
    return pc.if_else(mask, column, pa.scalar(None, column.type))


def _typed_columns(t: pa.RecordBatch, event_us: pa.Array) -> dict:
    """Checked rows -> parse.EVENT_COLUMNS as parse_line would fill them: fields that another
    event type carries are dropped, defaults applied, and the payload hashed the same way."""
    etype = t["event_type"]
    columns = {
        "platform": t["platform"],
        "event_id": t["event_id"],
        "event_type": etype,
        "event_time": event_us,
        "profile_id": t["profile_id"],
        "schema_version": pc.fill_null(t["schema_version"], contract.SCHEMA_VERSION),
    }
    carried: dict[tuple[str, ...], pa.Array] = {}  # one mask per set of carrying types
    for name in parse.PAYLOAD_COLUMNS[6:]:
        column = pc.fill_null(t[name], False) if name == "sponsored" else t[name]
        if column.null_count == len(column):  # nothing to drop (most payload columns of a block)
            columns[name] = column
            continue
        types = tuple(_CARRIED_BY[name])
        if types not in carried:
            carried[types] = pc.is_in(etype, pa.array(types))
        columns[name] = _only(carried[types], column)
    columns["payload_hash"] = _payload_hashes(columns)
    return columns


def _payload_text(column: pa.Array) -> pa.Array:
    """One typed column as parse.payload_text writes its values (a null stays null here)."""
    if pa.types.is_list(column.type):
        length = pc.cast(pc.list_value_length(column), pa.string())
        return pc.binary_join_element_wise(length, pc.binary_join(column, parse.ITEM_SEP), parse.ITEM_SEP)
    if pa.types.is_boolean(column.type):
        return pc.if_else(column, "true", "false")
    return column if pa.types.is_string(column.type) else pc.cast(column, pa.string())


def _payload_hashes(columns: dict) -> list[str]:
    """parse.payload_hash of every row, its text joined by kernel calls: the v1 columns with
    NULL_MARK for a null, then FIELD_SEP name=value for each v2 column that is set."""
    text = pc.binary_join_element_wise(
        *[_payload_text(columns[n]) for n in parse.V1_COLUMNS],
        parse.FIELD_SEP,
        null_handling="replace",
        null_replacement=parse.NULL_MARK,
    )
    # an unset v2 column adds "" (not null_handling="skip": pyarrow 25 drops rows it skips whole)
    parts = [
        pc.fill_null(pc.binary_join_element_wise(f"{parse.FIELD_SEP}{n}=", _payload_text(columns[n]), ""), "")
        for n in parse.V2_COLUMNS
    ]
    text = pc.binary_join_element_wise(text, *parts, "")
    return [hashlib.sha256(row).hexdigest() for row in text.cast(pa.binary()).to_pylist()]
