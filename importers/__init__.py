"""Importers: real platform exports in, contract v2 JSON Lines out (SPEC section 2, "Importers").

    from importers import run_import
    summary = run_import("x-api", Path("landing"), ["pages.jsonl.gz"])

`SOURCES` is the registry: each source's mapping function and its options (the CLI's
`microradar import` builds its arguments from it). This package imports nothing from pipelines,
flows or microradar.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from pathlib import Path

import orjson

from . import bluesky, csv_source, x_api, youtube
from .core import BadRecord, ImportRefused, MissingObservedAt, Outcome, utc_time
from .reader import BadInput, LandingWriter, check_inputs, csv_rows, json_records

EXAMPLES_KEPT = 20  # rejected/skipped examples listed in the summary; every one is counted


@dataclass(frozen=True)
class Option:
    flag: str
    help: str
    required: bool = False
    type: Callable = str
    repeat: bool = False
    choices: tuple[str, ...] | None = None

    @property
    def dest(self) -> str:
        return self.flag.lstrip("-").replace("-", "_")


@dataclass(frozen=True)
class Source:
    name: str
    help: str
    map_page: Callable | None = None  # JSON sources: (page, observed_at) -> Outcome
    options: tuple[Option, ...] = ()


SOURCES: dict[str, Source] = {
    s.name: s
    for s in (
        Source(
            "x-api",
            "X API v2 response pages (twarc2 output, any client, filtered-stream lines, "
            "twarc2 flatten); time from __twarc.retrieved_at, else --observed-at",
            x_api.map_page,
        ),
        Source(
            "youtube-api",
            "YouTube Data API v3 channels.list / videos.list / playlistItems.list / "
            "search.list / commentThreads.list / comments.list responses; counters need --observed-at",
            youtube.map_page,
        ),
        Source(
            "bluesky",
            "AppView getProfile(s) / getAuthorFeed / getLikes / getPosts responses and "
            "Jetstream JSONL; AppView counters need --observed-at",
            bluesky.map_page,
        ),
        Source(
            "csv",
            "any CSV/TSV of one kind, columns mapped to contract fields",
            None,
            (
                Option("--platform", "platform of every row, lowercase (e.g. instagram)", required=True),
                Option(
                    "--kind",
                    f"what a row is: {' | '.join(csv_source.KINDS)}",
                    required=True,
                    choices=csv_source.KINDS,
                ),
                Option(
                    "--map",
                    "field=column[,field=column...]; repeatable; columns named like the field need "
                    "no mapping. Fields: "
                    + "; ".join(f"{k}: {', '.join(v)}" for k, v in csv_source.FIELDS.items()),
                    repeat=True,
                ),
                Option(
                    "--profile-id",
                    "the profile of every row, for exports of one account without a profile column "
                    "(YouTube Studio, Instagram or TikTok analytics of your own account)",
                ),
                Option(
                    "--followers-sigfigs",
                    "followers are rounded to N significant figures (sets followers_precision)",
                    type=int,
                ),
                Option(
                    "--delimiter",
                    "cell delimiter (default: tab for .tsv/.tab, else comma, or tab/semicolon when the "
                    "header has no comma)",
                ),
            ),
        ),
    )
}


@dataclass
class ImportSummary:
    source: str
    inputs: list[str]
    output: str | None = None
    lines: int = 0  # non-blank lines (or documents) read
    imported: int = 0
    skipped: Counter = field(default_factory=Counter)
    rejected: Counter = field(default_factory=Counter)
    events: Counter = field(default_factory=Counter)
    examples: list[dict] = field(default_factory=list)

    @property
    def records(self) -> int:
        return self.imported + sum(self.skipped.values()) + sum(self.rejected.values())

    def account(self, out: Outcome, file: str, line: int) -> None:
        self.imported += out.imported
        for status, items in (("rejected", out.rejected), ("skipped", out.skipped)):
            for reason, detail in items:
                getattr(self, status)[reason] += 1
                if len(self.examples) < EXAMPLES_KEPT:
                    self.examples.append(
                        {"status": status, "reason": reason, "file": file, "line": line, "detail": detail}
                    )
        self.events.update(e["event_type"] for e in out.events)

    def to_dict(self) -> dict:
        return {
            "source": self.source,
            "inputs": self.inputs,
            "output": self.output,
            "lines": self.lines,
            "records": self.records,
            "imported": self.imported,
            "skipped": dict(sorted(self.skipped.items())),
            "rejected": dict(sorted(self.rejected.items())),
            "events": dict(sorted(self.events.items())),
            "events_written": sum(self.events.values()),
            "examples": self.examples,
        }

    def render(self) -> str:
        rows = [
            f"import {self.source}: {len(self.inputs)} input(s), {self.lines:,} lines/pages, "
            f"{self.records:,} records",
            f"  imported  {self.imported:,}",
            f"  skipped   {sum(self.skipped.values()):,}" + _reasons(self.skipped),
            f"  rejected  {sum(self.rejected.values()):,}" + _reasons(self.rejected),
            f"  events    {sum(self.events.values()):,}" + _reasons(self.events, 8),
            f"  written   {self.output or 'nothing (no events)'}",
        ]
        rows += [
            f"  {x['status']} {x['file']}:{x['line']} {x['reason']} {x['detail']}"[:160]
            for x in self.examples
            if x["status"] == "rejected"
        ][:8]
        return "\n".join(rows)


def _reasons(counter: Counter, top: int = 6) -> str:
    more = ", …" if len(counter) > top else ""
    return (
        ("  (" + ", ".join(f"{k} {v:,}" for k, v in counter.most_common(top)) + more + ")") if counter else ""
    )


def _dedupe(events: list[dict]) -> list[dict]:
    # The same user in data and includes, or a tweet twice in a page: one event per id per page.
    seen, out = set(), []
    for e in events:
        if e["event_id"] not in seen:
            seen.add(e["event_id"])
            out.append(e)
    return out


def _json_outcomes(source: Source, name: str, observed_at: str | None, summary: ImportSummary):
    for line, page in json_records(name):
        summary.lines += 1
        if isinstance(page, BadInput):
            out = Outcome()
            out.reject(page.reason, page.detail)
        else:
            try:
                out = source.map_page(page, observed_at)
            except MissingObservedAt as exc:
                raise MissingObservedAt(f"{'<stdin>' if name == '-' else name}:{line}: {exc}") from None
            except (BadRecord, ValueError, TypeError, AttributeError, KeyError) as exc:
                # A page shaped unlike anything the mapper knows is one rejected record, never a crash.
                out = Outcome()
                out.reject(getattr(exc, "reason", "unrecognized_page"), f"{type(exc).__name__}: {exc}"[:200])
        yield line, out


def _csv_outcomes(opts: csv_source.CsvOptions, delimiter: str | None, name: str, summary: ImportSummary):
    columns = None
    for line, row in csv_rows(name, delimiter):
        if isinstance(row, BadInput):
            summary.lines += 1
            out = Outcome()
            out.reject(row.reason, row.detail)
            yield line, out
            continue
        if columns is None:
            columns = csv_source.resolve_columns(row, opts)
            header = row
            continue
        if not any(cell.strip() for cell in row):
            continue  # a blank row is not a record
        summary.lines += 1
        yield line, csv_source.map_row(dict(zip(header, row)), columns, opts)


def _observed_at(text: str) -> str:
    """RFC 3339, a date, or an HTTP `Date` header as sent (`Tue, 05 Mar 2024 12:00:00 GMT`)."""
    try:
        return utc_time(text)
    except BadRecord:
        pass
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        moment = None
    if moment is None or moment.tzinfo is None:
        raise ImportRefused(f"--observed-at is not a date, an RFC 3339 time or an HTTP Date: {text!r}")
    return utc_time(moment.isoformat())


def run_import(
    source: str,
    out_dir: Path,
    inputs: list[str],
    *,
    observed_at: str | None = None,
    json_summary: bool = False,
    echo: bool = False,
    **source_options,
) -> ImportSummary:
    """Import `inputs` (paths, `.gz`, or `-` for stdin) into one contract file in `out_dir`.

    Raises ImportRefused (nothing written) on a usage error, a missing observation time or an
    unreadable input. With `echo`, prints the summary (JSON when `json_summary`) to stdout.
    """
    if source not in SOURCES:
        raise ImportRefused(f"unknown source {source!r} (sources: {', '.join(SOURCES)})")
    spec = SOURCES[source]
    allowed = {o.dest for o in spec.options}
    unknown = sorted(k for k, v in source_options.items() if k not in allowed and v not in (None, [], False))
    if unknown:
        raise ImportRefused(
            f"{source} takes no option {', '.join('--' + u.replace('_', '-') for u in unknown)}"
        )
    if observed_at is not None:
        observed_at = _observed_at(observed_at)
    check_inputs(inputs)
    if source == "csv":
        opts = csv_source.CsvOptions(
            platform=source_options.get("platform"),
            kind=source_options.get("kind"),
            mapping=csv_source.parse_map(source_options.get("map")),
            followers_sigfigs=source_options.get("followers_sigfigs"),
            observed_at=observed_at,
            profile_id=source_options.get("profile_id"),
        )
        outcomes = lambda name: _csv_outcomes(opts, source_options.get("delimiter"), name, summary)  # noqa: E731
    else:
        outcomes = lambda name: _json_outcomes(spec, name, observed_at, summary)  # noqa: E731
    summary = ImportSummary(source, list(inputs))
    writer = LandingWriter(Path(out_dir), source)
    try:
        for name in inputs:
            label = "<stdin>" if name == "-" else name
            for line, out in outcomes(name):
                out.events = _dedupe(out.events)
                writer.write(out.events)
                summary.account(out, label, line)
        path = writer.finish()
    except BaseException:
        writer.abort()
        raise
    summary.output = str(path) if path else None
    if echo:
        print(
            orjson.dumps(summary.to_dict(), option=orjson.OPT_INDENT_2).decode()
            if json_summary
            else summary.render()
        )
    return summary


__all__ = ["SOURCES", "Source", "Option", "ImportSummary", "ImportRefused", "MissingObservedAt", "run_import"]
