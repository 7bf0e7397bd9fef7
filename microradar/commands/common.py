"""What the subcommands share: the one-line error, the argument types, and Prefect's quiet set-up."""

from __future__ import annotations

import argparse
import logging
import os
from datetime import date
from pathlib import Path


class CliError(Exception):
    """A failure the user can fix; printed as one line."""


def iso_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}") from None


def existing_dir(value: str) -> Path:
    path = Path(value)
    if not path.is_dir():
        raise argparse.ArgumentTypeError(f"no such directory: {value}")
    return path


# The loggers that report a failed flow run, task run or Beam step with its traceback. The CLI
# reports the reason itself on one line, so below DEBUG their ERROR records are dropped (a filter on
# the logger objects, which Prefect's logging configuration keeps when it sets up its handlers).
FAILURE_LOGGERS = (
    "prefect.flow_runs",
    "prefect.task_runs",
    "apache_beam.runners.common",
    "apache_beam.runners.worker.sdk_worker",
)


def _no_failure_records(record: logging.LogRecord) -> bool:
    return record.levelno < logging.ERROR


def quiet_prefect(log_level: str) -> None:
    """Prefect without a server: a temporary local one, telemetry off (PLATFORM.md); Prefect's and
    Beam's loggers at --log-level (default WARNING). Progress lines are the CLI's own (flows.progress)."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
    os.environ["PREFECT_LOGGING_LEVEL"] = log_level
    logging.getLogger("apache_beam").setLevel(log_level)
    if log_level != "DEBUG" and not os.environ.get("MICRORADAR_DEBUG"):
        # Prefect's event-loop thread ends with tasks pending when the process exits (after an error
        # most of all); asyncio logs each as "Task was destroyed but it is pending!", burying the
        # one-line error under a hundred lines (seen under load in test_cli's changed-file test).
        logging.getLogger("asyncio").setLevel(logging.CRITICAL)
        for name in FAILURE_LOGGERS:
            logging.getLogger(name).addFilter(_no_failure_records)


def start_prefect_api(log_level: str) -> None:
    """Prefect's temporary API server boots while the command imports (flows/prefect_api.py)."""
    quiet_prefect(log_level)
    from flows import prefect_api

    prefect_api.start_early()


def wait_prefect_api() -> None:
    from flows import prefect_api

    prefect_api.wait_until_ready()


def whole_number(at_least: int):
    """An argparse type: a whole number, `at_least` or more (the message says which bound failed)."""

    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
        if number < at_least:
            bound = "0 or more" if at_least == 0 else f"at least {at_least}"
            raise argparse.ArgumentTypeError(f"must be {bound}: {value}")
        return number

    return parse
