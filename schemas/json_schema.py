"""The event contract as JSON Schema (draft 2020-12), generated from schemas/events.py.

Producers validate their lines with schemas/json/event.v2.schema.json before they land them. The
file is generated, never edited: `python -m schemas.json_schema` rewrites it, and
tests/schemas/test_json_schema.py checks that the committed file is current and that the schema and
the parser judge one corpus of lines alike.

A few rules only the parser checks (JSON Schema cannot say them); PARSER_ONLY_RULES lists them
and the schema's `$comment` repeats them for producers.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from schemas import events as contract

PATH = Path(__file__).resolve().parent / "json" / "event.v2.schema.json"
SCHEMA_ID = "https://microradar.dev/schemas/event.v2.schema.json"

PARSER_ONLY_RULES = (
    "event_time must lie between min_event_time (configuration, default "
    f"{contract.DEFAULT_MIN_EVENT_TIME}: too_old_event) and 24 hours after the line is ingested (future_event)",
    "event_time must name a real instant: 2026-02-30 or hour 24 match the pattern but are invalid_timestamp",
    "integers must be written without a fraction: 3.0 is an integer to JSON Schema, invalid_type to the parser",
    "platform must equal its Python str.lower(): the pattern only excludes ASCII upper case letters",
    f"strings other than ids are limited to {contract.STRING_MAX_BYTES} UTF-8 bytes; maxLength counts characters",
    "event_time digits are ASCII in the pattern; the parser's \\d also takes other scripts' digits",
    "a line must be one JSON object of valid UTF-8 (invalid_json, invalid_encoding); unknown fields are ignored",
)

_NO_CONTROL = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$"
_LOWER_NO_CONTROL = "^[^A-Z\\u0000-\\u001f\\u007f-\\u009f]*$"
_RFC3339 = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$"
)


def _nullable(type_: str, required: bool) -> str | list[str]:
    return type_ if required else [type_, "null"]


def field_schema(f: contract.Field) -> dict:
    """One contract field as a JSON Schema (an optional field may be null: null means absent)."""
    out: dict = {"description": f.doc}
    if f.kind == "id":
        out |= {
            "type": _nullable("string", f.required),
            "minLength": 0 if f.name == "reply_to" else 1,
            "maxLength": contract.ID_MAX_LEN,
            "pattern": _LOWER_NO_CONTROL if f.name == "platform" else _NO_CONTROL,
        }
    elif f.kind == "string":
        out |= {"type": _nullable("string", f.required), "maxLength": contract.STRING_MAX_BYTES}
        if f.name == "media_type":
            out["enum"] = [*contract.MEDIA_TYPES, None]
        if f.name == "event_type":
            out = {"description": f.doc, "enum": list(contract.EVENT_TYPES)}
    elif f.kind == "timestamp":
        out |= {"type": "string", "pattern": _RFC3339}
    elif f.kind == "integer":
        out |= {"type": _nullable("integer", f.required), "maximum": contract.COUNT_MAX}
        if f.minimum is not None:
            out["minimum"] = f.minimum
        if f.name == "schema_version":
            out["enum"] = [*contract.SCHEMA_VERSIONS, None]
    elif f.kind == "boolean":
        out |= {"type": _nullable("boolean", f.required)}
    elif f.kind == "string_list":
        out |= {
            "type": _nullable("array", f.required),
            "maxItems": contract.LIST_MAX_ITEMS,
            "items": {"type": "string", "maxLength": contract.STRING_MAX_BYTES},
        }
    else:
        raise ValueError(f"no JSON Schema for kind {f.kind!r}")
    return out


def _type_branch(event_type: str, fields: tuple[contract.Field, ...]) -> dict:
    branch: dict = {
        "title": event_type,
        "properties": {"event_type": {"const": event_type}} | {f.name: field_schema(f) for f in fields},
        "required": ["event_type"] + [f.name for f in fields if f.required],
    }
    needed = contract.AT_LEAST_ONE.get(event_type)
    if needed:
        branch["anyOf"] = [{"required": [n], "properties": {n: {"type": "integer"}}} for n in needed]
    return branch


def build() -> dict:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": f"microradar event, contract v{contract.LATEST_SCHEMA_VERSION}",
        "description": "One line of a landing file (JSON Lines). Generated from schemas/events.py by "
        "`python -m schemas.json_schema`; do not edit. Unknown fields are ignored.",
        "$comment": "Rules only the parser checks: " + "; ".join(PARSER_ONLY_RULES),
        "type": "object",
        "required": [f.name for f in contract.COMMON_FIELDS if f.required],
        "properties": {f.name: field_schema(f) for f in contract.COMMON_FIELDS},
        "oneOf": [_type_branch(t, fields) for t, fields in contract.TYPE_FIELDS.items()],
    }


def render() -> str:
    return json.dumps(build(), indent=2, ensure_ascii=True) + "\n"


if __name__ == "__main__":
    PATH.parent.mkdir(parents=True, exist_ok=True)
    PATH.write_text(render())
    sys.stdout.write(f"wrote {PATH}\n")
