import gzip

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.landing import discover, iter_blocks, iter_lines


def test_discover_finds_landing_suffixes_below_the_root_only(tmp_path):
    for name in [
        "a.jsonl",
        "b.ndjson",
        "d/c.jsonl.gz",
        "d/e/f.ndjson.gz",
        "x.json",
        "y.csv",
        ".hidden/z.jsonl",
        "g.jsonl.tmp",
    ]:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")
    assert [f.relpath for f in discover(tmp_path)] == [
        "a.jsonl",
        "b.ndjson",
        "d/c.jsonl.gz",
        "d/e/f.ndjson.gz",
    ]


def test_bom_crlf_and_gzip_are_not_part_of_the_lines(tmp_path):
    body = b'\xef\xbb\xbf{"a": 1}\r\n\r\n{"b": 2}\r\n{"c": 3}'
    plain = tmp_path / "crlf.jsonl"
    plain.write_bytes(body)
    packed = tmp_path / "crlf.jsonl.gz"
    packed.write_bytes(gzip.compress(body))
    expected = [(1, b'{"a": 1}'), (2, b""), (3, b'{"b": 2}'), (4, b'{"c": 3}')]
    assert list(iter_lines(str(plain))) == expected
    assert list(iter_lines(str(packed))) == expected


def test_a_bom_later_in_the_file_is_left_alone(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_bytes(b'{"a": 1}\n\xef\xbb\xbf{"b": 2}\n')
    assert list(iter_lines(str(path)))[1] == (2, b'\xef\xbb\xbf{"b": 2}')


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"\n",
        b"a",
        b"a\n",
        b"a\r\nb",
        b"\xef\xbb\xbf\xef\xbb\xbfab\r\n\r\nc\n\n",
        b"one\ntwo\r\nthree\rfour\n" * 7,
    ],
)
@pytest.mark.parametrize("block_bytes", [1, 2, 5, 1 << 20])
def test_blocks_hold_the_same_numbered_lines(tmp_path, body, block_bytes):
    path = tmp_path / "a.jsonl.gz"
    path.write_bytes(gzip.compress(body))
    from_blocks = [
        (first + i, raw)
        for first, lines in iter_blocks(str(path), block_bytes)
        for i, raw in enumerate(lines)
    ]
    assert from_blocks == list(iter_lines(str(path)))


# --- a cut or corrupt .gz keeps its lines before the damage (SPEC section 2: corrupt_file) ---
from ingest.landing import CorruptFile  # noqa: E402

_LINES = b"".join(b'{"n": %d, "pad": "%s"}\n' % (i, b"x" * (i % 50)) for i in range(3000))


def _read_until_damage(path, block_bytes=1 << 20):
    kept = []
    try:
        for first, lines in iter_blocks(str(path), block_bytes):
            kept += [(first + i, raw) for i, raw in enumerate(lines)]
    except CorruptFile as exc:
        return kept, exc
    return kept, None


@pytest.mark.parametrize("block_bytes", [7, 1 << 12, 1 << 20])
def test_a_cut_gz_yields_the_lines_before_the_cut_then_says_where(tmp_path, block_bytes):
    packed = gzip.compress(_LINES)
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(packed[: len(packed) // 2])
    kept, damage = _read_until_damage(path, block_bytes)
    expected = list(enumerate(_LINES.split(b"\n")[:-1], 1))
    assert damage is not None and damage.offset <= len(packed) // 2
    assert len(kept) > 100 and kept == expected[: len(kept)]
    assert damage.line == len(kept) + 1
    assert expected[len(kept)][1].startswith(damage.fragment)  # the line the cut went through


def test_corrupt_bytes_keep_the_lines_before_and_name_the_byte(tmp_path):
    first = gzip.compress(_LINES[:30000])
    second = bytearray(gzip.compress(_LINES[30000:]))
    second[:4] = b"\xff" * 4  # the second member's header is destroyed
    path = tmp_path / "bad.ndjson.gz"
    path.write_bytes(first + bytes(second))
    kept, damage = _read_until_damage(path)
    assert damage is not None and damage.offset == len(first)
    assert b"\n".join(raw for _, raw in kept) + b"\n" + damage.fragment == _LINES[:30000]
    # Damage inside the deflate data is found where zlib finds it (at the latest, the checksum).
    packed = bytearray(gzip.compress(_LINES))
    packed[-6] ^= 0xFF
    path.write_bytes(bytes(packed))
    kept, damage = _read_until_damage(path)
    assert (
        damage is not None and len(packed) - 8 <= damage.offset < len(packed) - 4 and "check" in damage.reason
    )


def test_not_gzip_at_all_is_damage_at_byte_0_and_multi_member_files_read_whole(tmp_path):
    fake = tmp_path / "fake.jsonl.gz"
    fake.write_bytes(b'{"a": 1}\n')
    kept, damage = _read_until_damage(fake)
    assert kept == [] and damage.offset == 0 and damage.line == 1
    multi = tmp_path / "multi.jsonl.gz"
    multi.write_bytes(gzip.compress(b'{"a": 1}\n') + gzip.compress(b'{"b": 2}\n') + b"\x00" * 8)
    assert list(iter_lines(str(multi))) == [(1, b'{"a": 1}'), (2, b'{"b": 2}')]
    trailing = tmp_path / "trailing.jsonl.gz"
    trailing.write_bytes(gzip.compress(b'{"a": 1}\n') + b"garbage")
    kept, damage = _read_until_damage(trailing)
    assert kept == [(1, b'{"a": 1}')] and damage.line == 2


# --- every entry below the landing directory is accounted for (SPEC section 2) ---
import os  # noqa: E402

from ingest.landing import LandingProblems, LandingUnreadable, scan  # noqa: E402


def _touch(root, *names):
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")


def test_every_entry_is_in_exactly_one_list(tmp_path):
    _touch(
        tmp_path,
        "a.jsonl",
        "d/b.ndjson.gz",
        "d/raw/page-1.json",
        "export.csv",
        ".import-1.tmp",
        ".cache/x.jsonl",
    )
    os.mkfifo(tmp_path / "d" / "pipe.jsonl")
    os.symlink(tmp_path / "gone.jsonl", tmp_path / "dangling.jsonl")
    os.symlink(tmp_path / "d", tmp_path / "d" / "loop")
    os.symlink(tmp_path / "a.jsonl", tmp_path / "d" / "link.jsonl")  # a link to a file reads as the file
    found = scan(tmp_path, ignored_patterns=("*/raw/*",))
    assert [f.relpath for f in found.files] == ["a.jsonl", "d/b.ndjson.gz", "d/link.jsonl"]
    assert found.hidden == [".cache", ".import-1.tmp"]
    assert found.ignored == ["d/raw/page-1.json"]
    assert found.unknown == ["export.csv"]
    assert found.unreadable == [
        ("d/loop", "a symlink loop"),
        ("d/pipe.jsonl", "a FIFO"),
        ("dangling.jsonl", "a dangling symlink"),
    ]
    with pytest.raises(LandingProblems) as failed:
        found.check(tmp_path, skip_unreadable=False)
    for name in ("export.csv", "dangling.jsonl", "d/loop", "d/pipe.jsonl"):
        assert name in str(failed.value)
    with pytest.raises(
        LandingProblems
    ) as failed:  # an unknown file fails even when unreadable ones are skipped
        found.check(tmp_path, skip_unreadable=True)
    assert "export.csv" in str(failed.value) and "pipe" not in str(failed.value)
    report = found.report(skip_unreadable=True)
    assert report["skipped_unreadable"] == [
        "d/loop: a symlink loop",
        "d/pipe.jsonl: a FIFO",
        "dangling.jsonl: a dangling symlink",
    ]
    assert report["hidden"] == [".cache", ".import-1.tmp"] and report["ignored"] == ["d/raw/page-1.json"]


def test_an_unreadable_folder_or_file_is_named(tmp_path, monkeypatch):
    _touch(tmp_path, "ok/a.jsonl", "locked/b.jsonl", "c.jsonl")
    real_scandir, real_access = os.scandir, os.access
    # The tests may run as root, who reads everything: the permission errors are simulated.
    monkeypatch.setattr(
        os,
        "scandir",
        lambda p: (
            (_ for _ in ()).throw(PermissionError(13, "Permission denied"))
            if str(p).endswith("locked")
            else real_scandir(p)
        ),
    )
    monkeypatch.setattr(os, "access", lambda p, mode: not str(p).endswith("c.jsonl") and real_access(p, mode))
    found = scan(tmp_path)
    assert [f.relpath for f in found.files] == ["ok/a.jsonl"]
    assert found.unreadable == [
        ("c.jsonl", "file cannot be read: Permission denied"),
        ("locked", "folder cannot be read: Permission denied"),
    ]
    found.check(tmp_path, skip_unreadable=True)  # skipped when configured


def test_a_missing_or_unlistable_landing_directory_is_an_error(tmp_path):
    with pytest.raises(LandingUnreadable, match="cannot be read"):
        scan(tmp_path / "nowhere")
    _touch(tmp_path, "file")
    with pytest.raises(LandingUnreadable, match="not a directory"):
        scan(tmp_path / "file")


# --- property: any bytes in a .gz, and any cut of a real one, read as a prefix then one damage ---
_PROPS = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@_PROPS
@given(payload=st.binary(max_size=300))
def test_arbitrary_bytes_in_a_gz_never_raise_anything_but_corrupt_file(tmp_path, payload):
    path = tmp_path / "any.jsonl.gz"
    path.write_bytes(payload)
    _read_until_damage(path, block_bytes=64)  # CorruptFile is caught; anything else fails the test


@_PROPS
@given(
    lines=st.lists(st.binary(max_size=40).filter(lambda b: not set(b) & set(b"\n\r\xef")), max_size=30),
    cut=st.floats(0, 1),
    block_bytes=st.sampled_from([1, 16, 1 << 20]),
)
def test_a_cut_gz_reads_a_prefix_of_its_lines(tmp_path, lines, cut, block_bytes):
    body = b"".join(raw + b"\n" for raw in lines)
    packed = gzip.compress(body)
    path = tmp_path / "cut.jsonl.gz"
    size = int(len(packed) * cut)
    path.write_bytes(packed[:size])
    kept, damage = _read_until_damage(path, block_bytes)
    assert kept == list(enumerate(lines, 1))[: len(kept)]
    if 0 < size < len(packed):  # an empty file is an empty file; any other cut is damage
        assert damage is not None and damage.line == len(kept) + 1
    elif size == len(packed):
        assert damage is None and len(kept) == len(lines)
