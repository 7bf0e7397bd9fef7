"""Landing directory I/O: find landed files and read their lines (gzip, BOM and CRLF aware)."""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from schemas.events import LANDING_SUFFIXES

_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True, order=True)
class LandedFile:
    relpath: str  # relative to the landing directory, '/'-separated: the file's stable identity
    path: str  # absolute path, what a worker opens
    size: int
    mtime_ns: int = 0  # last modification, as the file system reports it


def discover(landing_dir: Path) -> list[LandedFile]:
    """Every landing file below landing_dir, in a stable order. Hidden files (.tmp uploads) are skipped."""
    root = Path(landing_dir).resolve()
    found = []
    for path in root.rglob("*"):
        rel = path.relative_to(root)
        if any(part.startswith(".") for part in rel.parts) or not path.is_file():
            continue
        if path.name.endswith(LANDING_SUFFIXES):
            stat = path.stat()
            found.append(LandedFile(rel.as_posix(), str(path), stat.st_size, stat.st_mtime_ns))
    return sorted(found)


def file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _open(path: str):
    return gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb")


def _strip_cr(lines: list[bytes]) -> list[bytes]:
    return [raw[:-1] if raw.endswith(b"\r") else raw for raw in lines]


def iter_blocks(path: str, block_bytes: int = 8 << 20) -> Iterator[tuple[int, list[bytes]]]:
    """(number of the first line, lines without terminators) in blocks of about `block_bytes`,
    split by bytes.split instead of one Python step per line. A leading UTF-8 BOM is not data;
    a line may end in CRLF; the last line needs no terminator."""
    number, tail, first = 1, b"", True
    with _open(path) as f:
        while True:
            chunk = f.read(block_bytes)
            data = tail + chunk
            if first:  # a BOM is only known once 3 bytes are in
                if len(data) < len(_BOM) and chunk:
                    tail = data
                    continue
                data, first = data[len(_BOM):] if data.startswith(_BOM) else data, False
            if not chunk:  # end of file: the last line needs no terminator
                lines = data.split(b"\n")
                if lines[-1] == b"":
                    lines.pop()
                if lines:
                    yield number, _strip_cr(lines)
                return
            cut = data.rfind(b"\n")
            if cut < 0:
                tail = data
                continue
            lines, tail = data[:cut].split(b"\n"), data[cut + 1:]
            if b"\r" in data:
                lines = _strip_cr(lines)
            yield number, lines
            number += len(lines)


def iter_lines(path: str) -> Iterator[tuple[int, bytes]]:
    """(1-based line number, raw line without its terminator). A leading UTF-8 BOM is not data."""
    for first, lines in iter_blocks(path):
        for offset, raw in enumerate(lines):
            yield first + offset, raw
