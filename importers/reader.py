"""All importer I/O: opening inputs (files, `.gz`, stdin `-`), splitting them into records, and
writing the landing file atomically. Memory stays bounded by one page (or one CSV row); a file
holding a single pretty-printed JSON document is read whole, as that document is its one page.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import itertools
import os
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import orjson

from .core import ImportRefused

BOM = b"\xef\xbb\xbf"
GZIP_MAGIC = b"\x1f\x8b"


class BadInput:
    """A line or document that could not be parsed; becomes one rejected record."""

    __slots__ = ("reason", "detail")

    def __init__(self, reason: str, detail: str = ""):
        self.reason, self.detail = reason, detail


def check_inputs(inputs: list[str]) -> None:
    """Refuse before writing anything when an input cannot be opened at all."""
    if not inputs:
        raise ImportRefused("no INPUT given (a file, a .gz file, or - for standard input)")
    if inputs.count("-") > 1:
        raise ImportRefused("standard input (-) can be read only once")
    for name in inputs:
        if name == "-":
            continue
        path = Path(name)
        if not path.exists():
            raise ImportRefused(f"unreadable input {name}: no such file")
        if path.is_dir():
            raise ImportRefused(f"unreadable input {name}: is a directory (give the files)")
        if not os.access(path, os.R_OK):
            raise ImportRefused(f"unreadable input {name}: permission denied")


def open_input(name: str) -> BinaryIO:
    """A binary stream of the input's bytes, gunzipped when it starts with the gzip magic."""
    raw = sys.stdin.buffer if name == "-" else open(name, "rb")  # noqa: SIM115 - closed by caller
    buffered = raw if hasattr(raw, "peek") else io.BufferedReader(raw)
    if buffered.peek(2)[:2] == GZIP_MAGIC:
        return gzip.GzipFile(fileobj=buffered, mode="rb")
    return buffered


def _lines(stream: BinaryIO, label: str) -> Iterator[tuple[int, bytes | BadInput]]:
    """(line number, raw line) pairs; a cut or corrupt .gz ends with one `corrupt_file` item."""
    n = 0
    try:
        for n, raw in enumerate(stream, 1):
            yield n, raw[3:] if n == 1 and raw.startswith(BOM) else raw
    except (EOFError, gzip.BadGzipFile, zlib.error, OSError) as exc:
        yield n + 1, BadInput("corrupt_file", f"{label}: {type(exc).__name__}: {exc}"[:200])


def _parse(raw: bytes):
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        reason = "invalid_encoding" if "utf-8" in str(exc).lower() else "invalid_json"
        return BadInput(reason, str(exc)[:120])


def _starts_document(text: bytes) -> bool:
    # A pretty-printed document's first line is an opening bracket or ends mid-structure.
    return text in (b"{", b"[") or text.endswith((b"{", b"[", b","))


def json_records(name: str) -> Iterator[tuple[int, object]]:
    """(line number, parsed JSON or BadInput) for each non-blank line of a JSON Lines input, or a
    single (1, document) when the input is one multi-line JSON document. A top-level list is
    unpacked into its items (all on the same line number)."""
    with open_input(name) as stream:
        lines = _lines(stream, name)
        for n, raw in lines:
            if isinstance(raw, BadInput):
                yield n, raw
                continue
            text = raw.strip()
            if not text:
                continue
            parsed = _parse(text)
            if isinstance(parsed, BadInput) and _starts_document(text):
                rest = [r for _, r in lines]
                damage = [r for r in rest if isinstance(r, BadInput)]
                whole = _parse(raw + b"".join(r for r in rest if not isinstance(r, BadInput)))
                if isinstance(whole, BadInput):
                    whole.detail = f"a multi-line JSON document that does not parse: {whole.detail}"
                yield from _unpack(n, whole)
                yield from ((n, d) for d in damage)
                return
            yield from _unpack(n, parsed)


def _unpack(n: int, parsed) -> Iterator[tuple[int, object]]:
    if isinstance(parsed, list):
        for item in parsed:
            yield n, item
    else:
        yield n, parsed


def csv_rows(name: str, delimiter: str | None) -> Iterator[tuple[int, list[str] | BadInput]]:
    """(line number, cells) per CSV row, the header first; quoted multi-line cells are one row.
    The delimiter is given or sniffed from the name and the header (`sniff_delimiter`)."""
    with open_input(name) as stream:
        text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="surrogateescape", newline="")
        try:
            first = text.readline()
        except (EOFError, gzip.BadGzipFile, zlib.error, OSError) as exc:
            yield 1, BadInput("corrupt_file", f"{name}: {exc}"[:200])
            return
        if delimiter is None:
            delimiter = sniff_delimiter(name, first)
        reader = csv.reader(itertools.chain([first], text), delimiter=delimiter)
        done = 0
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                if reader.line_num == done:
                    return
                yield done + 1, BadInput("invalid_csv", str(exc)[:120])
                done = reader.line_num
                continue
            except (EOFError, gzip.BadGzipFile, zlib.error, OSError) as exc:
                yield done + 1, BadInput("corrupt_file", f"{name}: {type(exc).__name__}: {exc}"[:200])
                return
            start, done = done + 1, reader.line_num
            if any(_has_surrogate(cell) for cell in row):
                yield start, BadInput("invalid_encoding", "the row is not valid UTF-8")
            else:
                yield start, row


def sniff_delimiter(name: str, header: str) -> str:
    """Tab for .tsv/.tab; else the header decides: a comma, or else a tab or a semicolon (the
    spreadsheet export of locales whose decimal mark is a comma)."""
    if name.lower().removesuffix(".gz").endswith((".tsv", ".tab")):
        return "\t"
    if "," in header:
        return ","
    return max(("\t", ";"), key=header.count) if ("\t" in header or ";" in header) else ","


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


class LandingWriter:
    """Writes events to a hidden temp file in the landing dir (the nightly scan skips dot files),
    then renames it to `import-<source>-<sha12>.jsonl`, the hash being of the file's own bytes:
    the same input gives the same file, different output never overwrites an earlier import, and
    a landed file is never rewritten with other content."""

    def __init__(self, out_dir: Path, source: str):
        self.out_dir, self.source = Path(out_dir), source
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.tmp = self.out_dir / f".import-{source}-{os.getpid()}-{id(self):x}.tmp"
        self.fh = open(self.tmp, "wb")  # noqa: SIM115 - closed in finish/abort
        self.sha = hashlib.sha256()
        self.count = 0

    def write(self, events: list[dict]) -> None:
        if events:
            data = b"".join(orjson.dumps(e) + b"\n" for e in events)
            self.sha.update(data)
            self.fh.write(data)
            self.count += len(events)

    def finish(self) -> Path | None:
        self.fh.flush()
        os.fsync(self.fh.fileno())
        self.fh.close()
        if not self.count:
            self.tmp.unlink()
            return None
        final = self.out_dir / f"import-{self.source}-{self.sha.hexdigest()[:12]}.jsonl"
        if final.exists() and final.stat().st_size == self.tmp.stat().st_size:
            self.tmp.unlink()  # the same content landed before: leave it untouched (mtime too)
        else:
            os.replace(self.tmp, final)
        return final

    def abort(self) -> None:
        self.fh.close()
        self.tmp.unlink(missing_ok=True)
