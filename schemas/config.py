"""Every tunable number of microradar, in one place, with its default and why.

The SQL layer never hard-codes a threshold: `sql_tables()` turns this configuration into the
DuckDB tables `cfg_tiers`, `cfg_rising`, `cfg_spike` and `cfg_observation` that the models join against.
"""

from __future__ import annotations

import tomllib
import types
import typing
from dataclasses import asdict, dataclass, field, fields, is_dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from schemas.events import DEFAULT_MIN_EVENT_TIME


@dataclass(frozen=True)
class Tier:
    name: str
    min_followers: int
    max_followers: int | None  # inclusive; None = no upper bound


# SPEC section 1 defaults.
DEFAULT_TIERS = (
    Tier("nano", 0, 9_999),
    Tier("micro", 10_000, 50_000),
    Tier("macro", 50_001, 999_999),
    Tier("mega", 1_000_000, None),
)


@dataclass(frozen=True)
class RisingThresholds:
    # Growth must be real in size: +15% in 28 days is ~4x a typical steady account.
    min_growth_pct_28d: float = 0.15
    # ...and strong against peers (same platform and tier on the same day).
    min_growth_vs_peers: float = 2.0
    # Engagement must back the audience: at least half the peers' median engagement rate...
    min_engagement_vs_peers: float = 0.5
    # ...and interactions per post must not fall by more than 20% while followers grow: a real audience
    # keeps engaging (week-to-week noise allowed), bought followers dilute it.
    min_per_post_growth_pct_28d: float = -0.20
    # A platform's tier needs this many honest profiles on a day to be its own peer group;
    # smaller groups are compared with the tier across platforms. In a group of a dozen, a handful
    # of risers move the median itself (seed 2 of bench/flags.py: 7 of 11 TikTok micros rising).
    min_peers: int = 25
    # Active posting is judged against the platform (SPEC section 3: a YouTube channel posting weekly
    # is active): posts per week over the signal window at least this share of the platform's median
    # among the profiles that posted in that window...
    min_posts_vs_platform: float = 0.5
    # ...and at least this many posts in the window (one post is not a cadence).
    min_posts_in_window: int = 2
    # Nano profiles qualify when a straight-line projection crosses the micro floor within 30 days,
    # and they are already this big (a 300-follower account doubling is not a brand partner).
    nano_min_followers: int = 5_000
    # A nano close to the floor needs less relative growth to cross it: 9,400 -> 10,000 is +6%.
    nano_min_growth_pct_28d: float = 0.05
    projection_days: int = 30
    # Score weights (sum 1): relative growth, absolute growth, engagement rate, interaction growth.
    weight_growth_pct: float = 0.35
    weight_growth_abs: float = 0.25
    weight_engagement: float = 0.25
    weight_interaction_growth: float = 0.15


@dataclass(frozen=True)
class SpikeThresholds:
    # A day's gain this share of the followers before it is a jump worth a look (+15% in one day).
    min_jump_pct: float = 0.15
    # ...if it is this many times the profile's own median absolute daily change (robust baseline).
    min_jump_vs_baseline: float = 8.0
    # ...and carries this share of the 28-day growth (one day explains the growth).
    min_jump_share_of_growth: float = 0.5
    # Engagement "stays flat": interactions per post grew less than this share of the follower growth
    # (a real viral jump brings its engagement along; bought followers bring none).
    max_interaction_growth_share: float = 0.75
    # A drop after a jump: a later day losing this share of the jump.
    min_drop_share_of_jump: float = 0.1
    # A jump is "round" when it is a multiple of this.
    round_jump_multiple: int = 1_000


@dataclass(frozen=True)
class ObservationRules:
    # A follower count read more than this many days before a day is unknown on that day
    # (SPEC section 3: followers null, followers_stale true, no tier). 14 days ago is still fresh.
    max_staleness_days: int = 14


@dataclass(frozen=True)
class Checks:
    # Volume check: a night reading fewer lines than this share below the median of recent nights
    # warns (0.5: fewer than half the usual lines). Nothing new landed at all warns too.
    max_volume_drop: float = 0.5
    # How many earlier nights' run reports the median is taken over.
    volume_nights: int = 7
    # A warning makes `microradar nightly` exit non-zero (status 3) and the Prefect run fail,
    # after the night is committed and its report written: for schedulers that only see exit codes.
    fail_on_warning: bool = False


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Config:
    tiers: tuple[Tier, ...] = DEFAULT_TIERS
    rising: RisingThresholds = field(default_factory=RisingThresholds)
    spike: SpikeThresholds = field(default_factory=SpikeThresholds)
    observation: ObservationRules = field(default_factory=ObservationRules)
    checks: Checks = field(default_factory=Checks)
    # Rows of `rising` printed by the demo and in the run report.
    top_rising: int = 10
    # The parser rejects an event_time before this as `too_old_event` (SPEC section 2): with the
    # future bound (ingest + 24 h) it is the one bound on event times, so no later date arithmetic
    # (windows, day offsets) can overflow on a year-0001 or 1900 line. Must be timezone-aware.
    min_event_time: datetime = datetime.fromisoformat(DEFAULT_MIN_EVENT_TIME)
    # Every entry below the landing directory is accounted for (SPEC section 2). A file that is not a
    # contract file (*.jsonl, *.ndjson, optionally .gz) fails the run, named, unless it matches one of
    # these globs (fnmatch, relative to the landing directory, '/'-separated; `*` also matches '/':
    # "*.csv" ignores a CSV in any folder); an ignored one is listed in the run report.
    ignored_landing_patterns: tuple[str, ...] = ()
    # An entry that cannot be read (permissions, a dangling link, a link loop, a FIFO) fails the run,
    # named; set this to skip such entries instead (each is listed in the run report).
    skip_unreadable_landing: bool = False
    # How far back windows are computed (SPEC section 5): the horizon's first day is
    # as_of - (history_horizon_days - 1); no derived dataset holds an earlier day, so a night's cost
    # follows the events and profile-days it touches, not the calendar span of old posts. Older
    # events stay in `events`. Longer than the longest window plus its comparison window (56 days).
    history_horizon_days: int = 400
    # Compaction (storage/compaction.py): before a run commits, the files of each partition it writes
    # are merged into one while they hold at most this many bytes together (zstd Parquet); a bigger
    # partition keeps files of about this size. 128 MiB of Parquet is a few million events, and the
    # merge holds one file's rows in memory (several times its size on disk).
    target_file_bytes: int = 128 << 20

    def __post_init__(self):
        # Day numbers are computed by integer division of µs since 1970 (truncating): an earlier
        # bound would put pre-1970 events on the wrong day, a naive one is ambiguous.
        if self.min_event_time.tzinfo is None or self.min_event_time < _EPOCH:
            raise ValueError(
                f"min_event_time must be timezone-aware and not before 1970-01-01, got {self.min_event_time}"
            )
        if not isinstance(self.history_horizon_days, int) or self.history_horizon_days < 1:
            raise ValueError(
                f"history_horizon_days must be a whole number of days >= 1, got {self.history_horizon_days!r}"
            )
        if not isinstance(self.target_file_bytes, int) or self.target_file_bytes < 1:
            raise ValueError(f"target_file_bytes must be a whole number >= 1, got {self.target_file_bytes!r}")


DEFAULT = Config()


def sql_tables(config: Config = DEFAULT) -> dict[str, list[dict]]:
    """Configuration as rows for DuckDB tables (name -> list of row dicts)."""
    return {
        "cfg_tiers": [asdict(t) | {"tier_order": i} for i, t in enumerate(config.tiers)],
        "cfg_rising": [asdict(config.rising)],
        "cfg_spike": [asdict(config.spike)],
        "cfg_observation": [asdict(config.observation)],
    }


# --- loading: a TOML file, deployment parameters (a JSON-able dict) ---------------------------------
class ConfigError(ValueError):
    """A setting the run cannot honour: an unknown key or a value of the wrong type, named."""


def to_dict(config: Config = DEFAULT) -> dict:
    """The configuration as plain JSON-able values (what a deployment parameter or a run report holds).
    A tier without an upper bound has no `max_followers` key (TOML has no null)."""

    def plain(value):
        if is_dataclass(value):
            return {
                f.name: plain(getattr(value, f.name))
                for f in fields(value)
                if getattr(value, f.name) is not None
            }
        if isinstance(value, (tuple, list)):
            return [plain(v) for v in value]
        if isinstance(value, datetime):
            return value.isoformat()
        return value

    return plain(config)


def from_dict(settings: dict | None, base: Config = DEFAULT) -> Config:
    """`base` with `settings` laid over it (a partial dict: missing keys keep the base's values).
    Refuses an unknown key or a value of the wrong type with a `ConfigError` naming the key."""
    try:
        return _overlay(base, settings or {}, "")
    except ConfigError:
        raise
    except ValueError as exc:  # a dataclass's own check (e.g. min_event_time)
        raise ConfigError(str(exc)) from exc


def load_toml(path: str | Path, base: Config = DEFAULT) -> Config:
    """A TOML configuration file (every key optional; see docs/microradar.example.toml)."""
    path = Path(path)
    try:
        with path.open("rb") as f:
            settings = tomllib.load(f)
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc
    try:
        return from_dict(settings, base)
    except ConfigError as exc:
        raise ConfigError(f"config file {path}: {exc}") from exc


def _overlay(base, settings, where: str):
    if not isinstance(settings, dict):
        raise ConfigError(f"{where or 'configuration'}: expected a table of settings, got {_kind(settings)}")
    hints = typing.get_type_hints(type(base))
    names = {f.name for f in fields(base)}
    unknown = sorted(set(settings) - names)
    if unknown:
        raise ConfigError(f"unknown setting {_key(where, unknown[0])!r} (known: {', '.join(sorted(names))})")
    changes = {}
    for name, value in settings.items():
        key = _key(where, name)
        current = getattr(base, name)
        changes[name] = (
            _overlay(current, value, key) if is_dataclass(current) else _convert(value, hints[name], key)
        )
    return replace(base, **changes)


def _build(cls, settings, where: str):
    """A dataclass from a complete dict (an item of a list: no base to take missing keys from);
    a missing optional (`X | None`) field is None."""
    if not isinstance(settings, dict):
        raise ConfigError(f"{where}: expected a table, got {_kind(settings)}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in fields(cls)}
    unknown = sorted(set(settings) - names)
    if unknown:
        raise ConfigError(f"unknown setting {_key(where, unknown[0])!r} (known: {', '.join(sorted(names))})")
    values = {}
    for name in names:
        key = _key(where, name)
        if name in settings:
            values[name] = _convert(settings[name], hints[name], key)
        elif type(None) in typing.get_args(hints[name]):
            values[name] = None
        else:
            raise ConfigError(f"missing setting {key!r}")
    return cls(**values)


def _convert(value, hint, key: str):
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _convert(value, inner, key)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"setting {key!r} must be a list, got {_kind(value)}")
        return tuple(_convert(v, args[0], f"{key}[{i}]") for i, v in enumerate(value))
    if is_dataclass(hint):
        return _build(hint, value, key)
    if hint is bool:
        if isinstance(value, bool):
            return value
    elif hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif hint is str:
        if isinstance(value, str):
            return value
    elif hint is datetime:
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                raise ConfigError(
                    f"setting {key!r} must be a date-time like 2010-01-01T00:00:00Z, got {value!r}"
                ) from None
        if isinstance(value, datetime):
            return value
    else:
        raise ConfigError(f"setting {key!r} has a type the loader does not know: {hint}")
    raise ConfigError(f"setting {key!r} must be {_kind_name(hint)}, got {_kind(value)} {value!r}")


def _key(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


def _kind_name(hint) -> str:
    return {
        bool: "true or false",
        int: "an integer",
        float: "a number",
        str: "a string",
        datetime: "a date-time",
    }.get(hint, str(hint))


def _kind(value) -> str:
    return {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "a table",
        type(None): "nothing",
    }.get(type(value), type(value).__name__)
