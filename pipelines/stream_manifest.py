"""Moved to pipelines/stream/manifest.py; kept for callers of the old name."""

from pipelines.stream.manifest import *  # noqa: F401,F403
from pipelines.stream.manifest import REPLAY_MARGIN_DAYS, StreamManifest  # noqa: F401
