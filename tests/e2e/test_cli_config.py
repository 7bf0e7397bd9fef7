"""`microradar nightly --config FILE --fail-on-warning`, `microradar backfill --config FILE`: a bad
file is refused naming the file and the key; a warning exits 3 only when asked; the run summary
prints the radar report's path and the warnings."""

from __future__ import annotations

import pytest

from microradar import cli
from microradar.commands import common, config
from tests.conftest import event, line

pytestmark = pytest.mark.usefixtures("prefect_harness")

RUNNER = ["--runner=FnApiRunner"]


@pytest.fixture
def quiet(monkeypatch):
    """Requested before `capsys`: the flows are imported (and Prefect's console logging bound to a
    stream) outside the test's capture, whose stream is closed after the test."""
    import flows.backfill  # noqa: F401
    import flows.nightly  # noqa: F401

    monkeypatch.setattr(common, "quiet_prefect", lambda log_level: None)  # the harness is already set up


def test_a_bad_config_file_is_refused_naming_the_file_and_the_key(tmp_path, quiet, capsys):
    (tmp_path / "landing").mkdir()
    bad = tmp_path / "bad.toml"
    bad.write_text("[checks]\nmax_volume_drop = 'half'\n")
    for command in (
        ["nightly", "--landing", str(tmp_path / "landing")],
        ["backfill", "--from", "2026-11-01", "--to", "2026-11-02"],
    ):
        assert cli.main(command + ["--warehouse", str(tmp_path / "wh"), "--config", str(bad)]) == 1
        err = capsys.readouterr().err
        assert "bad.toml" in err and "'checks.max_volume_drop'" in err
        assert not (tmp_path / "wh" / "_meta").exists()


def test_warnings_are_printed_and_fail_the_command_only_when_asked(tmp_path, quiet, capsys):
    landing, wh = tmp_path / "landing", tmp_path / "wh"
    (landing / "2026-11-20").mkdir(parents=True)
    (landing / "2026-11-20" / "a.jsonl").write_bytes(line(event()) + b"\n")
    conf = tmp_path / "m.toml"
    conf.write_text("top_rising = 2\n")
    args = [
        "nightly",
        "--landing",
        str(landing),
        "--warehouse",
        str(wh),
        "--as-of",
        "2026-11-21",
        "--config",
        str(conf),
    ]
    code = cli.main(args + ["--fail-on-warning", "--"] + RUNNER)
    out, err = capsys.readouterr()
    assert code == 0, err
    assert f"radar_report         {wh / 'radar.html'}" in out and "WARNING" not in out
    assert cli.main(args + ["--"] + RUNNER) == 0  # nothing new: a warning, printed
    assert "WARNING (freshness): nothing new landed" in capsys.readouterr().out
    assert cli.main(args + ["--fail-on-warning", "--"] + RUNNER) == config.EXIT_WARNINGS
    captured = capsys.readouterr()
    assert "WARNING (freshness)" in captured.out and "microradar: warning: nothing new landed" in captured.err
    conf.write_text("[checks]\nfail_on_warning = true\n")
    assert cli.main(args + ["--"] + RUNNER) == config.EXIT_WARNINGS
