import gzip

import pytest

from ingest.landing import discover, iter_blocks, iter_lines


def test_discover_finds_landing_suffixes_below_the_root_only(tmp_path):
    for name in ["a.jsonl", "b.ndjson", "d/c.jsonl.gz", "d/e/f.ndjson.gz", "x.json", "y.csv", ".hidden/z.jsonl", "g.jsonl.tmp"]:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")
    assert [f.relpath for f in discover(tmp_path)] == ["a.jsonl", "b.ndjson", "d/c.jsonl.gz", "d/e/f.ndjson.gz"]


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


@pytest.mark.parametrize("body", [
    b"", b"\n", b"a", b"a\n", b"a\r\nb", b"\xef\xbb\xbf\xef\xbb\xbfab\r\n\r\nc\n\n", b"one\ntwo\r\nthree\rfour\n" * 7,
])
@pytest.mark.parametrize("block_bytes", [1, 2, 5, 1 << 20])
def test_blocks_hold_the_same_numbered_lines(tmp_path, body, block_bytes):
    path = tmp_path / "a.jsonl.gz"
    path.write_bytes(gzip.compress(body))
    from_blocks = [(first + i, raw) for first, lines in iter_blocks(str(path), block_bytes) for i, raw in enumerate(lines)]
    assert from_blocks == list(iter_lines(str(path)))
