"""The published JSON Schema (schemas/json/event.v2.schema.json) and the parser judge lines alike.

One corpus of valid and invalid lines goes through both: every line the parser accepts the schema
accepts, and the other way round, except for the few rules only the parser can check
(schemas.json_schema.PARSER_ONLY_RULES), each pinned by a test below.
"""

import json
import random

import pytest
from jsonschema import Draft202012Validator

from ingest.parse import Reject, parse_line
from schemas import json_schema
from schemas.events import EVENT_TYPES, TYPE_FIELDS
from tests.conftest import INGEST_US, event

SCHEMA = json.loads(json_schema.PATH.read_text())
VALIDATOR = Draft202012Validator(SCHEMA)


def test_the_committed_schema_is_generated_from_the_contract():
    assert json_schema.PATH.read_text() == json_schema.render(), (
        "run: .venv/bin/python -m schemas.json_schema"
    )
    Draft202012Validator.check_schema(SCHEMA)
    assert sorted(b["title"] for b in SCHEMA["oneOf"]) == sorted(EVENT_TYPES)


def judge(obj: dict) -> tuple[bool, bool, Reject | None]:
    raw = json.dumps(obj).encode()
    parsed = parse_line(raw, INGEST_US)
    return (
        not isinstance(parsed, Reject),
        VALIDATOR.is_valid(json.loads(raw)),
        parsed if isinstance(parsed, Reject) else None,
    )


# Values both can judge: none of them hits a parser-only rule (see PARSER_ONLY below).
STRINGS = [
    "",
    "x",
    "Instagram",
    "é",
    "a\x00b",
    "c1\x85",
    "\x7f",
    "tab\there",
    "e" * 128,
    "e" * 129,
    "image",
    "gif",
    "like",
    "follow",
    "post_metrics",
    "profile_snapshot",
    "US",
    "x" * 65536,
    "x" * 65537,
]
INTEGERS = [-(2**63), -1, 0, 1, 2, 1000, 2**63 - 1, 2**63]
OTHER = [
    None,
    True,
    False,
    1.5,
    -0.5,
    [],
    ["a"],
    ["a", None],
    ["t"] * 1000,
    ["t"] * 1001,
    [1],
    ["x" * 65537],
    {"k": 1},
]
TIMES = [
    "2026-11-20T10:00:00Z",
    "2026-11-20t10:00:00z",
    "2026-11-20 10:00:00+00:00",
    "2026-11-20T10:00:00.5+01:00",
    "2004-01-01T00:00:00Z",
    "2026-11-20T10:00:00",
    "2026-11-20T10:00:00+0100",
    "2026-11-20",
    "x",
    "",
    1763632800,
]
FIELDS = sorted(
    {f.name for fields in TYPE_FIELDS.values() for f in fields}
    | {"event_id", "event_type", "event_time", "platform", "profile_id", "schema_version"}
)


def corpus(seed: int, n: int) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        obj = event(rng.choice(EVENT_TYPES), event_id=f"e{i}")
        if rng.random() < 0.4:
            obj.update(
                {
                    k: v
                    for k, v in dict(
                        likes=3,
                        comments=0,
                        views=9,
                        followers_precision=1000,
                        handle="h",
                        display_name="D",
                        country="US",
                        language="en",
                        hashtags=["a"],
                        mentions=[],
                        media_type="video",
                        sponsored=True,
                        reply_to="c1",
                        following=1,
                        media_count=2,
                        schema_version=2,
                    ).items()
                    if rng.random() < 0.5
                }
            )
        for _ in range(rng.choice([0, 1, 1, 2])):  # mutate
            name = rng.choice(FIELDS)
            roll = rng.random()
            if roll < 0.15:
                obj.pop(name, None)
            elif name == "event_time":
                obj[name] = rng.choice(TIMES)
            elif roll < 0.45:
                obj[name] = rng.choice(STRINGS)
            elif roll < 0.75:
                obj[name] = rng.choice(INTEGERS)
            else:
                obj[name] = rng.choice(OTHER)
        out.append(obj)
    return out


@pytest.mark.parametrize("seed", [1, 2])
def test_parser_and_schema_accept_the_same_lines(seed):
    accepted = rejected = 0
    for obj in corpus(seed, 1500):
        by_parser, by_schema, reject = judge(obj)
        assert by_parser == by_schema, (obj, reject, [e.message for e in VALIDATOR.iter_errors(obj)][:3])
        accepted += by_parser
        rejected += not by_parser
    assert accepted > 300 and rejected > 300  # the corpus exercises both verdicts


@pytest.mark.parametrize(
    "obj",
    [
        event("like", actor_id=None),
        event("follow"),
        event("post_metrics", likes=0),
        event(
            "profile_snapshot",
            followers_precision=1000,
            handle="a",
            display_name="A",
            country="BR",
            language="pt",
        ),
        event("post", language="en", hashtags=["h"] * 1000, sponsored=None),
        event(schema_version=2),
        event("comment", reply_to=""),
        event("like", unknown={"nested": [1]}),
    ],
)
def test_valid_v2_lines_pass_both(obj):
    assert judge(obj)[:2] == (True, True)


@pytest.mark.parametrize(
    "obj",
    [
        event("post_metrics", likes=None),
        event("post_metrics", likes=-1),
        event("follow", actor_id=None),
        event("profile_snapshot", followers_precision=0),
        event(event_id="a\x00b"),
        event(profile_id="p" * 129),
        event("post", hashtags=["h"] * 1001),
        event(schema_version=3),
        event("retweet"),
        event(platform="X"),
        event(event_time="2026-11-20T10:00:00"),
        event("post", media_type="gif"),
    ],
)
def test_invalid_v2_lines_fail_both(obj):
    assert judge(obj)[:2] == (False, False)


# One line per rule only the parser checks: the schema accepts it, the parser rejects it.
PARSER_ONLY = [
    (event(event_time="2003-12-31T23:59:59Z"), "too_old_event"),
    (event(event_time="0001-01-01T00:00:00Z"), "too_old_event"),
    (event(event_time="2026-11-26T06:00:01Z"), "future_event"),
    (event(event_time="2026-02-30T10:00:00Z"), "invalid_timestamp"),
    (event(event_time="2026-11-20T24:00:00Z"), "invalid_timestamp"),
    (event("post_metrics", likes=3.0), "invalid_type"),
    (event(schema_version=2.0), "invalid_type"),
    (event(platform="İnstagram"), "invalid_value"),
    (event("profile_snapshot", display_name="é" * 40_000), "oversized_field"),
]


@pytest.mark.parametrize("obj, reason", PARSER_ONLY, ids=[r for _, r in PARSER_ONLY])
def test_rules_only_the_parser_checks_are_the_documented_ones(obj, reason):
    by_parser, by_schema, reject = judge(obj)
    assert (by_parser, by_schema, reject.reason) == (False, True, reason)
    assert len(json_schema.PARSER_ONLY_RULES) == 7
