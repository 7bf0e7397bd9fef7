"""Every line the importers write must be accepted by the pipeline's own parser: the importers
and the parser are checked against each other, not only against the spec's table."""

from __future__ import annotations

import pytest
from importer_checks import FIXTURES
from test_import_run import CASES

from importers import run_import
from ingest import parse

INGEST_US = 1_800_000_000_000_000  # 2027-01-15: after every fixture's times


@pytest.mark.parametrize("source", sorted(CASES))
def test_parser_accepts_every_imported_line(tmp_path, source):
    files, opts = CASES[source]
    summary = run_import(source, tmp_path, [str(FIXTURES / f) for f in files], **opts)
    lines = open(summary.output, "rb").read().splitlines()
    rejects = [
        (parse.parse_line(raw, INGEST_US).reason, raw[:200])
        for raw in lines
        if isinstance(parse.parse_line(raw, INGEST_US), parse.Reject)
    ]
    assert rejects == []
