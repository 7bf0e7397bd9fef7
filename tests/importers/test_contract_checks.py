"""The contract checker itself must catch what the spec forbids, or every other test is weaker."""

from importer_checks import contract_errors

GOOD = {
    "event_id": "x-post-1",
    "event_type": "post",
    "event_time": "2024-03-01T10:00:00Z",
    "platform": "x",
    "profile_id": "1001",
    "schema_version": 2,
    "post_id": "9",
}


def test_valid_event_has_no_errors():
    assert contract_errors(GOOD) == []
    assert contract_errors({**GOOD, "event_type": "post_metrics", "likes": 0}) == []


def test_checker_catches_each_kind_of_breakage():
    assert contract_errors({**GOOD, "event_time": "2024-03-01T10:00:00"})  # naive
    assert contract_errors({**GOOD, "event_time": "2024-03-01"})
    assert contract_errors({**GOOD, "platform": "X"})
    assert contract_errors({**GOOD, "event_id": "a" * 129})
    assert contract_errors({**GOOD, "media_type": "photo"})
    assert contract_errors({**GOOD, "event_type": "post_metrics"})  # no counter
    assert contract_errors({**GOOD, "event_type": "post_metrics", "likes": -1})
    assert contract_errors({**GOOD, "event_type": "post_metrics", "likes": True})
    assert contract_errors({**GOOD, "event_type": "follow"})  # no actor
    assert contract_errors(
        {**GOOD, "event_type": "profile_snapshot", "followers": 5, "followers_precision": 0}
    )
    assert contract_errors({**GOOD, "event_type": "profile_snapshot", "followers": 5, "country": "de"})
    assert contract_errors({**GOOD, "schema_version": 1})
    assert contract_errors({**GOOD, "hashtags": ["ok", None]})
