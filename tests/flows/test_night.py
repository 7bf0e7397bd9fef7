"""`timed`: a step returns its wall time beside its result (the flow records it), and an I/O error
leaving a step names the step."""

from __future__ import annotations

import errno

import pytest

from flows.night import timed

NIGHT = object()  # `timed` hands the night to the step and reads nothing of it


def test_a_timed_step_returns_its_result_and_its_seconds():
    @timed("plan")
    def step(night, a, b=0):
        assert night is NIGHT
        return a + b

    result, seconds = step(NIGHT, 2, b=3)
    assert result == 5 and isinstance(seconds, float) and seconds >= 0


def test_an_io_error_names_the_step_and_keeps_the_path():
    @timed("lookup")
    def step(night):
        raise FileNotFoundError(errno.ENOENT, "No such file or directory", "/wh/events/x.parquet")

    with pytest.raises(FileNotFoundError) as err:
        step(NIGHT)
    assert err.value.strerror == "No such file or directory (nightly step: lookup)"
    assert err.value.filename == "/wh/events/x.parquet"


def test_an_error_already_named_or_without_errno_passes_unchanged():
    @timed("sql")
    def step(night, exc):
        raise exc

    for exc in (OSError("no errno"), OSError(errno.EIO, "I/O error (nightly step: ingest)")):
        with pytest.raises(OSError) as err:
            step(NIGHT, exc)
        assert err.value is exc
