"""Options of the stream: defaults, durations, pipeline options, time helpers."""

from __future__ import annotations

import time

from schemas.units import DAY_S, day_date

DEFAULT_ALLOWED_LATENESS_S = 3 * DAY_S
DEFAULT_OUT_OF_ORDERNESS_S = 3600
DEFAULT_GRACE_S = 60


def day_iso(day: int) -> str:
    return day_date(day).isoformat()


def now_us() -> int:
    return time.time_ns() // 1000


def streaming_options(beam_args: list[str] | None):
    """Pipeline options for streaming; the local default is BundleBasedDirectRunner (never the
    default DirectRunner, which tries a download)."""
    from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

    args = list(beam_args or [])
    if not any(a == "--runner" or a.startswith("--runner=") for a in args):
        args.append("--runner=BundleBasedDirectRunner")
    options = PipelineOptions(args)
    options.view_as(StandardOptions).streaming = True
    return options


def parse_duration_s(text: str) -> int:
    """'3d', '36h', '90m', '45s' or plain seconds -> seconds (for `--allowed-lateness`)."""
    units = {"d": DAY_S, "h": 3600, "m": 60, "s": 1}
    text = text.strip().lower()
    if text and text[-1] in units:
        value, unit = text[:-1], units[text[-1]]
    else:
        value, unit = text, 1
    try:
        seconds = float(value) * unit
    except ValueError:
        raise ValueError(f"not a duration (e.g. 3d, 36h, 90m, 45s): {text!r}") from None
    if seconds < 0:
        raise ValueError(f"a duration cannot be negative: {text!r}")
    return int(seconds)
