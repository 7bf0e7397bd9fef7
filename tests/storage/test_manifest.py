from datetime import UTC

import pyarrow as pa

from flows.run_report import accounting
from ingest.landing import LandedFile
from storage.manifest import plan_ingest, updated_manifest
from storage.warehouse import MANIFEST_SCHEMA


def files(*names):
    return [LandedFile(n, f"/landing/{n}", 10) for n in names]


def test_new_changed_and_already_ingested_files_are_told_apart():
    manifest = updated_manifest(
        MANIFEST_SCHEMA.empty_table(), files("a", "b"), {"a": "h1", "b": "h2"}, "r1", 0, MANIFEST_SCHEMA
    )
    plan = plan_ingest(files("a", "b", "c"), {"a": "h1", "b": "CHANGED", "c": "h3"}, manifest)
    assert [f.relpath for f in plan.new] == ["c"]
    assert [f.relpath for f in plan.changed] == ["b"]
    assert plan.already_ingested == 1
    assert plan.hashes == {"b": "CHANGED", "c": "h3"}


def test_a_reread_changed_file_replaces_its_manifest_entry():
    first = updated_manifest(MANIFEST_SCHEMA.empty_table(), files("a"), {"a": "h1"}, "r1", 0, MANIFEST_SCHEMA)
    second = updated_manifest(first, files("a", "b"), {"a": "h9", "b": "h2"}, "r2", 5, MANIFEST_SCHEMA)
    assert second.select(["relpath", "sha256", "run_id"]).to_pylist() == [
        {"relpath": "a", "sha256": "h9", "run_id": "r2"},
        {"relpath": "b", "sha256": "h2", "run_id": "r2"},
    ]
    assert second.schema == MANIFEST_SCHEMA


def test_accounting_checks_the_identity_instead_of_assuming_it():
    ok = accounting(
        {"lines_read": 10, "accepted": 6, "duplicates": 1, "blank": 1, "rejected": {"invalid_json": 2}}
    )
    assert ok["identity_holds"] and ok["rejected"] == 2
    broken = accounting({"lines_read": 10, "accepted": 6, "duplicates": 1, "blank": 1, "rejected": {}})
    assert not broken["identity_holds"]


def test_a_recorded_hash_is_trusted_only_for_the_same_size_and_time_well_before_its_run():
    from datetime import datetime

    from storage.manifest import RACY_NS, recorded_hashes

    run_us = int(datetime(2026, 11, 25, 6, tzinfo=UTC).timestamp() * 1_000_000)
    old = run_us * 1000 - 10 * RACY_NS  # written long before the run read it
    seen = [
        LandedFile("same", "/l/same", 10, old),
        LandedFile("touched", "/l/touched", 10, old),
        LandedFile("grown", "/l/grown", 10, old),
        LandedFile("racy", "/l/racy", 10, run_us * 1000 - 1),
        LandedFile("new", "/l/new", 10, old),
    ]
    manifest = updated_manifest(
        MANIFEST_SCHEMA.empty_table(),
        seen[:4],
        {f.relpath: f"h-{f.relpath}" for f in seen},
        "r1",
        run_us,
        MANIFEST_SCHEMA,
    )
    now = [
        seen[0],
        LandedFile("touched", "/l/touched", 10, old + 1),
        LandedFile("grown", "/l/grown", 11, old),
        seen[3],
        seen[4],
    ]
    assert recorded_hashes(now, manifest) == {"same": "h-same"}
    # a manifest written before modification times were kept trusts nothing
    assert recorded_hashes(now, manifest.set_column(5, "mtime_ns", pa.nulls(4, pa.int64()))) == {}
