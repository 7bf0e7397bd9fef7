"""run_import as a whole: determinism, file naming, atomic writes, stdin, gzip damage, refusals."""

from __future__ import annotations

import gzip
import io
import sys

import pytest
from importer_checks import FIXTURES, assert_accounted, assert_contract, read_events

from importers import SOURCES, ImportRefused, MissingObservedAt, run_import

CASES = {
    "x-api": (["x_pages.jsonl", "x_flat.jsonl"], {}),
    "youtube-api": (
        ["youtube_channels.jsonl", "youtube_videos.json", "youtube_playlist_search.jsonl"],
        {"observed_at": "2024-03-05T00:00:00Z"},
    ),
    "bluesky": (
        ["bluesky_author_feed.jsonl", "bluesky_jetstream.jsonl", "bluesky_likes.json"],
        {"observed_at": "2024-03-05"},
    ),
    "csv": (
        ["csv_snapshots_bom.csv"],
        {
            "platform": "youtube",
            "kind": "profile_snapshot",
            "followers_sigfigs": 3,
            "map": ["profile_id=Channel ID,followers=Subscribers,observed_at=snapshot_utc"],
        },
    ),
}


@pytest.mark.parametrize("source", sorted(CASES))
def test_reimport_writes_identical_files(tmp_path, source):
    files, opts = CASES[source]
    inputs = [str(FIXTURES / f) for f in files]
    first = run_import(source, tmp_path / "a", inputs, **opts)
    landed = (tmp_path / "a" / first.output.rsplit("/", 1)[1]).stat()
    again = run_import(source, tmp_path / "a", inputs, **opts)  # into the same landing dir: no new file
    assert (tmp_path / "a" / first.output.rsplit("/", 1)[1]).stat().st_ino == landed.st_ino  # left untouched
    other = run_import(source, tmp_path / "b", inputs, **opts)
    names_a = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names_a == [first.output.rsplit("/", 1)[1]] == sorted(p.name for p in (tmp_path / "b").iterdir())
    assert names_a[0].startswith(f"import-{source}-") and names_a[0].endswith(".jsonl")
    assert (tmp_path / "a" / names_a[0]).read_bytes() == (tmp_path / "b" / names_a[0]).read_bytes()
    assert first.to_dict() == again.to_dict() | {"output": first.output}
    assert other.events == first.events
    assert_accounted(first)
    assert_contract(read_events(tmp_path / "a"))


def test_two_different_imports_never_overwrite_each_other(tmp_path):
    run_import("x-api", tmp_path, [str(FIXTURES / "x_pages.jsonl")])
    run_import("x-api", tmp_path, [str(FIXTURES / "x_flat.jsonl")])
    run_import("x-api", tmp_path, [str(FIXTURES / "x_users_lookup.json")], observed_at="2024-01-01")
    run_import("x-api", tmp_path, [str(FIXTURES / "x_users_lookup.json")], observed_at="2024-01-02")
    assert len(list(tmp_path.glob("import-x-api-*.jsonl"))) == 4
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp file left


def test_observed_at_accepts_an_http_date(tmp_path):
    run_import(
        "youtube-api",
        tmp_path,
        [str(FIXTURES / "youtube_channels.jsonl")],
        observed_at="Tue, 05 Mar 2024 12:00:00 GMT",
    )
    assert {e["event_time"] for e in read_events(tmp_path)} == {"2024-03-05T12:00:00Z"}


def test_missing_observation_time_refuses_and_leaves_nothing(tmp_path):
    with pytest.raises(MissingObservedAt, match="--observed-at"):
        run_import("youtube-api", tmp_path, [str(FIXTURES / "youtube_channels.jsonl")])
    assert list(tmp_path.iterdir()) == []


def test_unreadable_inputs_and_bad_options_refuse(tmp_path):
    with pytest.raises(ImportRefused, match="no such file"):
        run_import("x-api", tmp_path, [str(tmp_path / "nope.jsonl")])
    with pytest.raises(ImportRefused, match="unknown source"):
        run_import("tiktok", tmp_path, [str(FIXTURES / "x_pages.jsonl")])
    with pytest.raises(ImportRefused, match="no option --platform"):
        run_import("x-api", tmp_path, [str(FIXTURES / "x_pages.jsonl")], platform="x")
    with pytest.raises(ImportRefused, match="observed-at"):
        run_import("x-api", tmp_path, [str(FIXTURES / "x_pages.jsonl")], observed_at="yesterday")
    with pytest.raises(ImportRefused, match="no INPUT"):
        run_import("x-api", tmp_path, [])


def test_stdin(tmp_path, monkeypatch):
    data = (FIXTURES / "x_pages.jsonl").read_bytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BufferedReader(io.BytesIO(gzip.compress(data)))))
    piped = run_import("x-api", tmp_path / "a", ["-"])
    from_file = run_import("x-api", tmp_path / "b", [str(FIXTURES / "x_pages.jsonl")])
    assert piped.events == from_file.events and piped.examples[0]["file"] == "<stdin>"


def test_truncated_gzip_keeps_what_came_before(tmp_path):
    whole = gzip.compress((FIXTURES / "x_pages.jsonl").read_bytes() * 20)
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(whole[: len(whole) * 2 // 3])
    summary = run_import("x-api", tmp_path / "out", [str(cut)])
    assert summary.rejected["corrupt_file"] == 1
    assert summary.imported > 0
    assert_accounted(summary)


def test_bom_and_blank_lines_in_jsonl(tmp_path):
    src = tmp_path / "p.jsonl"
    src.write_bytes(b"\xef\xbb\xbf" + (FIXTURES / "x_flat.jsonl").read_bytes() + b"\n\n   \n")
    summary = run_import("x-api", tmp_path / "out", [str(src)])
    assert summary.lines == 1 and summary.rejected == {}


def test_json_array_of_pages(tmp_path):
    src = tmp_path / "pages.json"
    src.write_text("[" + ",".join((FIXTURES / "x_flat.jsonl").read_text().splitlines() * 2) + "]")
    summary = run_import("x-api", tmp_path / "out", [str(src)])
    assert summary.imported == 4


def test_nothing_to_write_leaves_no_file(tmp_path):
    src = tmp_path / "empty.jsonl"
    src.write_text('{"meta": {"result_count": 0}}\n')
    assert run_import("x-api", tmp_path / "out", [str(src)]).output is None
    assert list((tmp_path / "out").iterdir()) == []


def test_registry_lists_every_source_with_a_help_line():
    assert set(SOURCES) == {"x-api", "youtube-api", "bluesky", "csv"}
    assert all(s.help for s in SOURCES.values())
    assert {o.flag for o in SOURCES["csv"].options} >= {
        "--platform",
        "--kind",
        "--map",
        "--followers-sigfigs",
    }


def test_importers_import_nothing_from_other_layers():
    import ast
    from pathlib import Path

    import importers

    for path in Path(importers.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom) and not node.level
                else []
            )
            assert not [n for n in names if n.split(".")[0] in ("pipelines", "flows", "microradar")], (
                path.name
            )
