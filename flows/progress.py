"""Progress of long steps: one function every step calls, one sink the command line chooses.

`progress(message)` is what flows and pipelines call ("beam ingest: reading 8 files ...", then
"beam ingest: 1,000 lines in 3.1 s"). With no sink installed (a flow run by a Prefect deployment)
it `print`s a time-stamped line, which the flows' `log_prints` turns into a run log record (the
Prefect UI shows it). The CLI installs its own within `terminal()`: on a terminal the lines stay and
a Rich spinner below them shows the step under way (a message ending in "..." starts a step); off a
terminal, plain time-stamped lines written to stdout directly, whatever Prefect's log level.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

_sink: Callable[[str], None] | None = None


def progress(message: str) -> None:
    """Reports a step: to the installed sink, else printed (a flow's `log_prints` logs it)."""
    if _sink is not None:
        _sink(message)
    else:
        print(_stamped(message), flush=True)


def _stamped(message: str) -> str:
    return f"[{datetime.now(UTC):%H:%M:%S}] {message}"


def plain(message: str) -> None:
    """A time-stamped line on stdout, not through `print` (which `log_prints` diverts to Prefect's logger)."""
    sys.stdout.write(_stamped(message) + "\n")
    sys.stdout.flush()


def set_sink(sink: Callable[[str], None] | None) -> Callable[[str], None] | None:
    """Installs `sink` (None: plain lines); returns the one it replaces."""
    global _sink
    previous, _sink = _sink, sink
    return previous


@contextmanager
def terminal(stream=None) -> Iterator[None]:
    """Within the block, progress shows as lines plus a live spinner when `stream` (stdout) is a
    terminal; plain lines otherwise (a pipe, a file, a scheduler's log)."""
    stream = stream or sys.stdout
    if not getattr(stream, "isatty", lambda: False)():
        previous = set_sink(plain)
        try:
            yield
        finally:
            set_sink(previous)
        return
    from rich.console import Console
    from rich.markup import escape

    console = Console(file=stream, highlight=False)
    status = console.status("starting (a temporary Prefect server takes a few seconds) ...", spinner="dots")

    def sink(message: str) -> None:
        console.print(f"[dim]{datetime.now(UTC):%H:%M:%S}[/dim] {escape(message)}", soft_wrap=True)
        # a message ending in "..." starts a step: the spinner shows it until the next one
        status.update(escape(message) if message.rstrip().endswith("...") else "working ...")

    previous = set_sink(sink)
    status.start()
    try:
        yield
    finally:
        status.stop()
        set_sink(previous)
