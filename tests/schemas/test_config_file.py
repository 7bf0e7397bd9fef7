"""Configuration from a TOML file and from deployment parameters: every key known, every type checked."""

from __future__ import annotations

import json
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from schemas import config as cfg

EXAMPLE = Path(__file__).parents[2] / "docs" / "microradar.example.toml"


def _keys(d: dict, where: str = "") -> set[str]:
    out = set()
    for k, v in d.items():
        key = f"{where}.{k}" if where else k
        out |= _keys(v, key) if isinstance(v, dict) else {key}
    return out


def test_the_example_file_holds_every_setting_with_its_default():
    with EXAMPLE.open("rb") as f:
        example = tomllib.load(f)
    assert _keys(example) == _keys(cfg.to_dict(cfg.DEFAULT))
    assert cfg.load_toml(EXAMPLE) == cfg.DEFAULT


def test_a_partial_file_changes_its_keys_and_keeps_the_rest(tmp_path):
    path = tmp_path / "m.toml"
    path.write_text(
        "top_rising = 3\n[rising]\nmin_peers = 5\nmin_growth_vs_peers = 3\n[checks]\nfail_on_warning = true\n"
    )
    c = cfg.load_toml(path)
    assert (c.top_rising, c.rising.min_peers, c.rising.min_growth_vs_peers) == (3, 5, 3.0)
    assert c.checks.fail_on_warning and c.checks.max_volume_drop == 0.5
    assert c.spike == cfg.DEFAULT.spike and c.tiers == cfg.DEFAULT.tiers


@pytest.mark.parametrize(
    "text, named",
    [
        ("top_risng = 3", "'top_risng'"),
        ("[rising]\nmin_peer = 3", "'rising.min_peer'"),
        ("[checks]\nmax_volume_drop = 'half'", "'checks.max_volume_drop'"),
        ("top_rising = 2.5", "'top_rising'"),
        ("top_rising = true", "'top_rising'"),
        ("[checks]\nfail_on_warning = 1", "'checks.fail_on_warning'"),
        ("rising = 3", "rising"),
        ("[[tiers]]\nname = 'all'\nmin_followers = 0\ncolor = 'red'", "'tiers[0].color'"),
        ("[[tiers]]\nname = 'all'", "'tiers[0].min_followers'"),
        ("min_event_time = 'last year'", "'min_event_time'"),
    ],
)
def test_an_unknown_key_or_a_wrong_type_is_refused_naming_the_key_and_the_file(tmp_path, text, named):
    path = tmp_path / "bad.toml"
    path.write_text(text + "\n")
    with pytest.raises(cfg.ConfigError) as err:
        cfg.load_toml(path)
    assert named in str(err.value) and str(path) in str(err.value)


def test_a_missing_or_malformed_file_is_refused_naming_it(tmp_path):
    with pytest.raises(cfg.ConfigError, match="nope.toml"):
        cfg.load_toml(tmp_path / "nope.toml")
    (tmp_path / "bad.toml").write_text("top_rising = \n")
    with pytest.raises(cfg.ConfigError, match="bad.toml.*not valid TOML"):
        cfg.load_toml(tmp_path / "bad.toml")


def test_the_dataclass_checks_still_hold():
    with pytest.raises(cfg.ConfigError, match="min_event_time"):
        cfg.from_dict({"min_event_time": "1960-01-01T00:00:00Z"})


def test_deployment_parameters_round_trip_through_json():
    """A deployment stores its parameters as JSON: the dict form survives that, tiers and dates included."""
    changed = cfg.from_dict(
        {
            "top_rising": 4,
            "min_event_time": "2012-01-01T00:00:00Z",
            "tiers": [
                {"name": "small", "min_followers": 0, "max_followers": 99},
                {"name": "big", "min_followers": 100},
            ],
        }
    )
    assert changed.tiers[1].max_followers is None
    assert changed.min_event_time == datetime(2012, 1, 1, tzinfo=UTC)
    assert cfg.from_dict(json.loads(json.dumps(cfg.to_dict(changed)))) == changed
    assert cfg.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg.DEFAULT
