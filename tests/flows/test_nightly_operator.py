"""What an operator sees of a night: the run report as Prefect artifacts, the radar report among its
outputs, freshness and volume warnings (and failing on them), configuration from deployment
parameters (honoured, or refused naming the key), a failed hash naming the file."""

from __future__ import annotations

import json
import os
import types
from datetime import UTC, date, datetime

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

from flows import artifacts, landing_tasks, report_tasks
from flows.deploy import deployment
from flows.night import Night
from flows.nightly import nightly
from ingest import landing
from schemas import config as cfg
from storage.warehouse import MANIFEST_SCHEMA, Warehouse
from tests.conftest import event, line

pytestmark = pytest.mark.usefixtures("prefect_harness")

RUNNER = ["--runner=FnApiRunner"]
AS_OF = date(2026, 11, 21)


def land(root, day: str, n: int) -> None:
    path = root / day / "a.jsonl"
    path.parent.mkdir(parents=True)
    path.write_bytes(
        b"".join(
            line(event(event_id=f"e-{day}-{i}", event_time=f"{day}T10:00:00Z")) + b"\n" for i in range(n)
        )
        + b"not json\n"
    )


def artifacts_of(flow_run_id) -> dict:
    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
        )
    return {a.key: a for a in found}


@pytest.fixture(scope="module")
def first_night(tmp_path_factory):
    """One night run as a served deployment runs it: its parameters through JSON, then validated."""
    tmp = tmp_path_factory.mktemp("night")
    land(tmp / "landing", "2026-11-20", 3)
    d = deployment(
        str(tmp / "landing"), str(tmp / "wh"), config={"top_rising": 3, "checks": {"volume_nights": 2}}
    )
    run_params = {"as_of": AS_OF.isoformat(), "beam_args": RUNNER, "config": {"top_rising": 4}}
    params = nightly.validate_parameters(json.loads(json.dumps(d.parameters | run_params)))
    state = nightly(**params, return_state=True)
    return tmp, state.result(), state.state_details.flow_run_id


def test_a_config_given_as_a_deployment_parameter_is_honoured(first_night):
    _, report, _ = first_night
    assert report["config"]["top_rising"] == 4  # the run's parameter replaces the deployment's
    assert report["config"]["checks"] == cfg.to_dict()["checks"]


def test_a_setting_the_run_cannot_honour_fails_it_naming_the_key(tmp_path):
    (tmp_path / "landing").mkdir()
    with pytest.raises(cfg.ConfigError, match="'rising.min_peer'"):
        nightly(
            str(tmp_path / "landing"),
            str(tmp_path / "wh"),
            as_of=AS_OF,
            beam_args=RUNNER,
            config={"rising": {"min_peer": 3}},
        )
    with pytest.raises(cfg.ConfigError, match="'top_rising' must be an integer"):
        nightly(
            str(tmp_path / "landing"),
            str(tmp_path / "wh"),
            as_of=AS_OF,
            beam_args=RUNNER,
            config={"top_rising": "ten"},
        )


def test_the_run_report_is_on_the_runs_page_as_a_summary_and_tables(first_night):
    _, report, flow_run_id = first_night
    found = artifacts_of(flow_run_id)
    assert set(found) == {"microradar-summary"} | {f"microradar-{k}" for k in artifacts.TABLES}
    summary = found["microradar-summary"].data
    assert summary == artifacts.summary_markdown(report)
    assert "4 read = 3 accepted" in summary and report["outputs"]["radar_report"] in summary
    assert json.loads(found["microradar-counts"].data) == artifacts.counts_rows(report)
    assert {"reason": "invalid_json", "lines": 1} in json.loads(found["microradar-rejects"].data)
    durations = json.loads(found["microradar-durations"].data)
    assert {"ingest", "windows", "sql", "total", "radar_report"} <= {r["step"] for r in durations}
    # the process's peak memory after each step: the peak only grows over the run
    peaks = [r["peak_rss_mb"] for r in durations]
    assert peaks == [report["peak_rss_mb"][r["step"]] for r in durations]
    assert peaks[0] > 0 and peaks == sorted(peaks)
    freshness = json.loads(found["microradar-freshness"].data)
    assert [(r["check"], r["status"]) for r in freshness] == [("freshness", "ok"), ("volume", "ok")]


def test_the_night_writes_the_radar_report_and_keeps_the_json_reports(first_night):
    tmp, report, _ = first_night
    radar = report["outputs"]["radar_report"]
    assert radar == str(tmp / "wh" / "radar.html") and os.path.getsize(radar) > 0
    on_disk = json.loads((tmp / "wh" / "_meta" / "last_run.json").read_text())
    assert on_disk["outputs"]["radar_report"] == radar and on_disk["warnings"] == []
    assert json.loads((tmp / "wh" / "_meta" / "runs" / f"{report['run_id']}.json").read_text()) == on_disk


def test_nothing_new_landed_warns_and_fails_only_when_asked(first_night):
    tmp, _, _ = first_night
    again = nightly(str(tmp / "landing"), str(tmp / "wh"), as_of=AS_OF, beam_args=RUNNER)
    assert [w["check"] for w in again["warnings"]] == ["freshness"]
    with pytest.raises(report_tasks.NightWarnings, match="nothing new landed") as err:
        nightly(
            str(tmp / "landing"),
            str(tmp / "wh"),
            as_of=AS_OF,
            beam_args=RUNNER,
            config={"checks": {"fail_on_warning": True}},
        )
    assert err.value.report["warnings"][0]["check"] == "freshness"
    # the failed night still committed its report
    assert (
        json.loads((tmp / "wh" / "_meta" / "last_run.json").read_text())["run_id"]
        == err.value.report["run_id"]
    )


def test_the_volume_check_reads_the_last_nights_run_reports(tmp_path):
    wh = Warehouse.at(str(tmp_path / "wh"))
    for day, lines in ((1, 1000), (2, 1200), (3, 800)):
        wh.write_json(
            f"runs/r{day}.json",
            {
                "run_id": f"r{day}",
                "started_at": f"2026-11-0{day}T02:00:00+00:00",
                "counts": {"lines_read": lines},
            },
        )
    (wh.meta / "runs" / "broken.json").write_text("{")
    night = Night(
        wh,
        str(tmp_path),
        "now",
        AS_OF,
        datetime(2026, 11, 22, tzinfo=UTC),
        config=cfg.from_dict({"checks": {"volume_nights": 2}}),
    )
    landed = types.SimpleNamespace(to_read=["one file"])
    checked = report_tasks.check_freshness.fn(night, landed, {"lines": {"lines_read": 400}})
    assert checked["volume_baseline"] == {"nights": 2, "median_lines_read": 1000}  # of 1200 and 800
    assert [w["check"] for w in checked["warnings"]] == ["volume"]
    assert report_tasks.check_freshness.fn(night, landed, {"lines": {"lines_read": 600}})["warnings"] == []


def test_a_file_that_cannot_be_hashed_is_named(tmp_path, monkeypatch):
    land(tmp_path, "2026-11-20", 1)

    def vanish(path):
        raise FileNotFoundError(2, "No such file or directory")

    monkeypatch.setattr(landing, "file_sha256", vanish)
    with pytest.raises(
        landing_tasks.UnreadableLandingFile, match=r"cannot hash landed file .*2026-11-20/a\.jsonl"
    ):
        landing_tasks.scan_landing.fn(landing.scan(tmp_path).files, MANIFEST_SCHEMA.empty_table())
