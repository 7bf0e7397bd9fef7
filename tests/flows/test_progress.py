"""Progress lines go through one function the CLI hooks: plain lines off a terminal, a spinner on one."""

from __future__ import annotations

import io
import re

from flows import progress


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_plain_lines_by_default(capsys):
    progress.progress("beam ingest: reading 3 files ...")
    assert re.fullmatch(r"\[\d\d:\d\d:\d\d\] beam ingest: reading 3 files \.\.\.\n", capsys.readouterr().out)


def test_the_flows_report_through_the_hookable_function():
    from flows import backfill, landing_tasks, report_tasks, sql_tasks, tasks

    for module in (tasks, landing_tasks, sql_tasks, report_tasks, backfill):
        assert module.progress is progress.progress, module.__name__


def test_not_a_terminal_keeps_plain_lines(capsys):
    with progress.terminal(io.StringIO()):
        progress.progress("sql layer: done")
    assert "sql layer: done" in capsys.readouterr().out


def test_a_terminal_gets_the_lines_and_a_spinner_and_the_sink_is_restored(capsys):
    screen = FakeTerminal()
    with progress.terminal(screen):
        progress.progress("beam windows: 3 dates [x] ...")  # brackets are text, not Rich markup
        progress.progress("beam windows: done in 1.0 s")
    shown = screen.getvalue()
    assert "beam windows: 3 dates [x] ..." in shown and "beam windows: done in 1.0 s" in shown
    assert capsys.readouterr().out == ""
    progress.progress("after")
    assert "after" in capsys.readouterr().out
