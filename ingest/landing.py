"""Landing directory I/O: find landed files and read their lines (gzip, BOM and CRLF aware).

`scan` accounts for every entry below the landing directory (SPEC section 2): contract files
are read; dot-named entries (uploads in progress) are left for later and listed; files the
configuration ignores are listed; anything else (an unknown file, an unreadable folder or file,
a dangling link, a link loop, a FIFO) is a problem the run fails on, naming it, unless told to
skip it. `iter_blocks` keeps the lines before the damage of a cut or corrupt `.gz` and then
raises `CorruptFile` with the byte offset, so the damage is one rejected record.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import stat as stat_mod
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from schemas.events import LANDING_SUFFIXES

_BOM = b"\xef\xbb\xbf"
_GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True, order=True)
class LandedFile:
    relpath: str  # relative to the landing directory, '/'-separated: the file's stable identity
    path: str  # absolute path, what a worker opens
    size: int
    mtime_ns: int = 0  # last modification, as the file system reports it


class LandingUnreadable(OSError):
    """The landing directory itself is missing or cannot be listed: the run fails, nothing moves."""


class LandingProblems(RuntimeError):
    """Entries below the landing directory the run cannot account for (named in the message)."""


@dataclass(frozen=True)
class LandingScan:
    """Every entry below the landing directory, each in exactly one list."""

    files: list[LandedFile] = field(default_factory=list)  # contract files, read by the run
    hidden: list[str] = field(default_factory=list)  # dot-named (uploads in progress): left for later
    ignored: list[str] = field(default_factory=list)  # matched an `ignored_landing_patterns` glob
    unknown: list[str] = field(default_factory=list)  # other files: not contract files, not ignored
    unreadable: list[tuple[str, str]] = field(default_factory=list)  # (relpath, why) it cannot be read

    def report(self, skip_unreadable: bool) -> dict:
        """The run report's `landing_entries` section."""
        return {
            "contract_files": len(self.files),
            "hidden": self.hidden,
            "ignored": self.ignored,
            "unknown": self.unknown,
            ("skipped_unreadable" if skip_unreadable else "unreadable"): [
                f"{rel}: {why}" for rel, why in self.unreadable
            ],
        }

    def problems(self, skip_unreadable: bool) -> list[str]:
        """What fails the run: unknown files always, unreadable entries unless skipped."""
        found = [
            f"{rel}: not a contract file (*.jsonl, *.ndjson, optionally .gz) and not ignored"
            for rel in self.unknown
        ]
        if not skip_unreadable:
            found += [f"{rel}: {why}" for rel, why in self.unreadable]
        return found

    def check(self, landing_dir, skip_unreadable: bool) -> None:
        found = self.problems(skip_unreadable)
        if found:
            shown = "; ".join(found[:5]) + (f"; and {len(found) - 5} more" if len(found) > 5 else "")
            raise LandingProblems(
                f"landing directory {landing_dir}: {len(found)} entr{'y' if len(found) == 1 else 'ies'} "
                f"not accounted for (configure ignored_landing_patterns or "
                f"skip_unreadable_landing): {shown}"
            )


def _kind(mode: int) -> str:
    for test, name in (
        (stat_mod.S_ISFIFO, "a FIFO"),
        (stat_mod.S_ISSOCK, "a socket"),
        (stat_mod.S_ISCHR, "a character device"),
        (stat_mod.S_ISBLK, "a block device"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def scan(landing_dir: Path, ignored_patterns: tuple[str, ...] = ()) -> LandingScan:
    """Walks the landing directory (following links, refusing loops) and sorts every entry."""
    root = Path(os.path.abspath(landing_dir))
    try:
        root_stat = os.stat(root)
        if not stat_mod.S_ISDIR(root_stat.st_mode):
            raise LandingUnreadable(f"landing directory {landing_dir} is not a directory")
        with os.scandir(root):
            pass
    except LandingUnreadable:
        raise
    except OSError as exc:
        raise LandingUnreadable(
            f"landing directory {landing_dir} cannot be read: {exc.strerror or exc}"
        ) from None
    result = LandingScan()

    def walk(directory: Path, rel: str, ancestors: frozenset) -> None:
        try:
            with os.scandir(directory) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            result.unreadable.append((rel, f"folder cannot be read: {exc.strerror or exc}"))
            return
        for entry in entries:
            relpath = f"{rel}/{entry.name}" if rel else entry.name
            if entry.name.startswith("."):
                result.hidden.append(relpath)
                continue
            try:
                st = os.stat(entry.path)  # follows links
            except OSError as exc:
                if entry.is_symlink():
                    why = "a symlink loop" if exc.errno == 40 else "a dangling symlink"
                else:
                    why = f"cannot be read: {exc.strerror or exc}"
                result.unreadable.append((relpath, why))
                continue
            if stat_mod.S_ISDIR(st.st_mode):
                key = (st.st_dev, st.st_ino)
                if key in ancestors:
                    result.unreadable.append((relpath, "a symlink loop"))
                    continue
                walk(Path(entry.path), relpath, ancestors | {key})
            elif not stat_mod.S_ISREG(st.st_mode):
                result.unreadable.append((relpath, _kind(st.st_mode)))
            elif any(fnmatch.fnmatchcase(relpath, p) for p in ignored_patterns):
                result.ignored.append(relpath)
            elif not entry.name.endswith(LANDING_SUFFIXES):
                result.unknown.append(relpath)
            elif not os.access(entry.path, os.R_OK):
                result.unreadable.append((relpath, "file cannot be read: Permission denied"))
            else:
                result.files.append(LandedFile(relpath, entry.path, st.st_size, st.st_mtime_ns))

    walk(root, "", frozenset({(root_stat.st_dev, root_stat.st_ino)}))
    for found in (result.files, result.hidden, result.ignored, result.unknown, result.unreadable):
        found.sort()
    return result


def discover(landing_dir: Path) -> list[LandedFile]:
    """Every landing file below landing_dir, in a stable order. Hidden files (.tmp uploads) are skipped."""
    return scan(landing_dir).files


def file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class CorruptFile(OSError):
    """A compressed landing file cut short or damaged at `offset` (compressed bytes read before the
    damage was found). The lines before it were yielded; `line` is the number the next line would
    have had and `fragment` the bytes of the incomplete line the damage cut."""

    def __init__(self, offset: int, reason: str, line: int = 0, fragment: bytes = b""):
        super().__init__(f"corrupt or truncated gzip at byte {offset}: {reason}")
        self.offset, self.reason, self.line, self.fragment = offset, reason, line, fragment


def _gunzip(path: str, piece: int = 1 << 16) -> Iterator[bytes]:
    """The decompressed bytes of a (multi-member) gzip file, as they come. Raises CorruptFile at the
    first damage, after yielding everything decompressed before it (gzip.open would drop the
    buffered part and not say where)."""
    with open(path, "rb") as f:
        offset = 0  # compressed bytes fed to the decompressor so far
        d = None
        pending = b""
        while True:
            data = pending or f.read(piece)
            pending = b""
            if not data:
                if d is not None:
                    raise CorruptFile(offset, "the file ends before the end of its compressed stream")
                return
            if (
                d is None
            ):  # a new member starts here (zero padding after the last one is allowed, as gzip does)
                if not data.strip(b"\x00"):
                    offset += len(data)
                    continue
                if len(data) < 2:
                    data += f.read(piece)
                if data[:2] != _GZIP_MAGIC:
                    raise CorruptFile(
                        offset, "not gzip data" if offset == 0 else "trailing bytes that are not gzip data"
                    )
                d = zlib.decompressobj(wbits=31)
            saved = d.copy()
            try:
                out = d.decompress(data)
            except zlib.error as exc:
                # Find the exact byte: feed the piece again one byte at a time (only once, at the damage).
                for i in range(len(data)):
                    try:
                        out = saved.decompress(data[i : i + 1])
                    except zlib.error:
                        if out:
                            yield out
                        raise CorruptFile(offset + i, str(exc)) from None
                    if out:
                        yield out
                raise CorruptFile(offset + len(data), str(exc)) from None
            if out:
                yield out
            if d.eof:
                used = len(data) - len(d.unused_data)
                offset += used
                pending = d.unused_data
                d = None
            else:
                offset += len(data)


def _read_chunks(path: str, size: int) -> Iterator[bytes]:
    if not path.endswith(".gz"):
        with open(path, "rb") as f:
            yield from iter(lambda: f.read(size), b"")
        return
    buffered = []
    held = 0
    try:
        for out in _gunzip(path):
            buffered.append(out)
            held += len(out)
            if held >= size:
                yield b"".join(buffered)
                buffered, held = [], 0
    except CorruptFile:
        if buffered:  # what came before the damage is data
            yield b"".join(buffered)
        raise
    if buffered:
        yield b"".join(buffered)


def _strip_cr(lines: list[bytes]) -> list[bytes]:
    return [raw[:-1] if raw.endswith(b"\r") else raw for raw in lines]


def iter_blocks(path: str, block_bytes: int = 8 << 20) -> Iterator[tuple[int, list[bytes]]]:
    """(number of the first line, lines without terminators) in blocks of about `block_bytes`,
    split by bytes.split instead of one Python step per line. A leading UTF-8 BOM is not data;
    a line may end in CRLF; the last line needs no terminator. A cut or corrupt .gz yields its
    complete lines before the damage, then raises CorruptFile (the cut line is its fragment)."""
    number, tail, first = 1, b"", True
    chunks = _read_chunks(path, block_bytes)
    while True:
        try:
            chunk = next(chunks, b"")
        except CorruptFile as exc:
            if first and tail.startswith(_BOM):
                tail = tail[len(_BOM) :]
            raise CorruptFile(exc.offset, exc.reason, number, tail) from None
        data = tail + chunk
        if first:  # a BOM is only known once 3 bytes are in
            if len(data) < len(_BOM) and chunk:
                tail = data
                continue
            data, first = data[len(_BOM) :] if data.startswith(_BOM) else data, False
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
        lines, tail = data[:cut].split(b"\n"), data[cut + 1 :]
        if b"\r" in data:
            lines = _strip_cr(lines)
        yield number, lines
        number += len(lines)


def iter_lines(path: str) -> Iterator[tuple[int, bytes]]:
    """(1-based line number, raw line without its terminator). A leading UTF-8 BOM is not data."""
    for first, lines in iter_blocks(path):
        for offset, raw in enumerate(lines):
            yield first + offset, raw
