"""The radar report of a real warehouse, opened in a real headless Chromium (Debian's, driven by
Playwright): it loads offline with no console error, every chart renders, and the numbers on the
page are the warehouse's, read here with DuckDB straight from the Parquet files."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from microradar import cli
from report import write_radar_report
from storage import sql_layer

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def parquet(warehouse: Path, name: str) -> str:
    return f"read_parquet('{warehouse / name}/*=*/*.parquet', hive_partitioning = true)"


@pytest.fixture(scope="module")
def expected(radar_warehouse):
    """What the page must say, from the Parquet files (not through the report's own queries)."""
    wh, run = radar_warehouse
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    pd = parquet(wh, "profile_daily")
    day = con.execute(f"select max(day) from {pd}").fetchone()[0]
    top = con.execute(
        f"select platform, profile_id, rising_score, followers, follower_growth_pct_28d, engagement_rate_28d from {pd} "
        "where day = ? and is_rising order by rising_score desc, platform, profile_id limit 10",
        [day],
    ).fetchall()
    rising = con.execute(f"select count(*) from {pd} where day = ? and is_rising", [day]).fetchone()[0]
    tracked = con.execute(f"select count(*) from {pd} where day = ?", [day]).fetchone()[0]
    rejects = dict(
        con.execute(f"select reason, count(*) from {parquet(wh, 'rejected')} group by reason").fetchall()
    )
    con.close()
    assert top, "the fixture warehouse must have rising profiles on its last day"
    assert rejects, "the generator plants bad lines: the fixture warehouse must have rejects"
    return {
        "day": day,
        "top": top,
        "rising": rising,
        "tracked": tracked,
        "rejects": rejects,
        "run": json.loads((wh / "_meta" / "last_run.json").read_text()),
    }


@pytest.fixture(scope="module")
def page_path(radar_warehouse):
    wh, _ = radar_warehouse
    path = write_radar_report(wh)
    assert path == wh / "radar.html"
    assert [p.name for p in wh.iterdir() if p.name.startswith(".radar.html")] == []  # no temp file left
    return path


@pytest.fixture(scope="module")
def browser_page(page_path):
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is absent: apt-get install chromium chromium-driver (.ci/run does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        problems, requests = [], []
        page.on(
            "console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None
        )
        page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
        page.on("request", lambda r: requests.append(r.url))
        page.route(
            "**/*",
            lambda route: route.continue_() if route.request.url.startswith("file://") else route.abort(),
        )
        page.goto(page_path.as_uri(), wait_until="load")
        yield page, problems, requests
        browser.close()


def texts(page, selector: str) -> list[str]:
    return [t.strip() for t in page.locator(selector).all_inner_texts()]


def test_loads_offline_with_no_console_error(browser_page, page_path):
    page, problems, requests = browser_page
    assert problems == []
    assert requests == [page_path.as_uri()]  # the page itself, nothing else


def test_every_chart_renders(browser_page, expected):
    page, _, _ = browser_page
    charts = page.locator("svg.chart")
    assert charts.count() == len(expected["top"]) + 1  # a growth chart per profile, the tier mix
    for i in range(charts.count()):
        box = charts.nth(i).bounding_box()
        assert box and box["width"] > 100 and box["height"] > 50, (i, box)
        assert charts.nth(i).locator("path").count() > 0  # something drawn in it
    for card in page.locator("[data-testid=rising-card]").all():
        assert card.locator("svg.chart").count() == 1


def test_top_rising_are_the_warehouse_s(browser_page, expected):
    page, _, _ = browser_page
    cards = page.locator("[data-testid=rising-card]")
    shown = [(c.get_attribute("data-platform"), c.get_attribute("data-profile")) for c in cards.all()]
    assert shown == [(p, pid) for p, pid, *_ in expected["top"]]
    assert texts(page, "[data-testid=rising-card] [data-testid=score]") == [
        f"{s:.1f}" for _, _, s, *_ in expected["top"]
    ]
    assert texts(page, "[data-testid=rising-card] [data-testid=followers]") == [
        "—" if f is None else f"{f:,}" for _, _, _, f, *_ in expected["top"]
    ]
    assert texts(page, "[data-testid=rising-card] [data-testid=growth]") == [
        "—" if g is None else f"{100 * g:+,.0f}%" for *_, g, _ in expected["top"]
    ]
    assert texts(page, "[data-testid=rising-card] [data-testid=engagement]") == [
        "—" if e is None else f"{100 * e:,.1f}%" for *_, e in expected["top"]
    ]
    assert texts(page, "[data-testid=kpi-rising]") == [f"{expected['rising']:,}"]
    assert texts(page, "[data-testid=kpi-tracked]") == [f"{expected['tracked']:,}"]
    day = expected["day"]
    assert f"{day.day} {day:%b %Y}" in page.locator("h1").inner_text()


def test_run_health_is_the_warehouse_s(browser_page, expected):
    page, _, _ = browser_page
    counts = expected["run"]["counts"]
    assert texts(page, "[data-testid=run-lines]") == [f"{counts['lines_read']:,}"]
    assert texts(page, "[data-testid=run-accepted]") == [f"{counts['accepted']:,}"]
    assert texts(page, "[data-testid=run-rejected]") == [f"{counts['rejected']:,}"]
    rows = page.locator("[data-testid=rejects] tbody tr")
    on_page = {}
    for row in rows.all():
        cells = [c.strip() for c in row.locator("td").all_inner_texts()]
        on_page[row.get_attribute("data-reason")] = (cells[1], cells[2])
    assert on_page == {
        reason: (f"{counts['rejected_by_reason'].get(reason, 0):,}", f"{n:,}")
        for reason, n in expected["rejects"].items()
    }


def test_the_sql_shown_reproduces_the_top_rising(browser_page, expected, radar_warehouse, monkeypatch):
    page, _, _ = browser_page
    sql = page.locator("pre[data-query=top_rising]").text_content()
    assert "from profile_daily" in sql
    wh, _ = radar_warehouse
    monkeypatch.chdir(wh)  # an analyst's session in the warehouse folder, on its database file
    con = sql_layer.connect(wh / "microradar.duckdb", read_only=True)
    try:
        rows = con.execute(sql).fetchall()
    finally:
        con.close()
    assert [(r[0], r[1], r[4], r[2], r[7], r[8]) for r in rows] == expected["top"]


def test_rerendering_changes_nothing(page_path, radar_warehouse, tmp_path):
    wh, _ = radar_warehouse
    again = write_radar_report(wh, out=tmp_path / "again.html")
    assert again.read_bytes() == page_path.read_bytes()


def test_cli_writes_the_page(radar_warehouse, tmp_path, capsys):
    wh, _ = radar_warehouse
    out = tmp_path / "out" / "radar.html"
    assert cli.main(["report", "--warehouse", str(wh), "--out", str(out), "--day", expected_day(wh)]) == 0
    assert out.exists() and f"radar report: {out}" in capsys.readouterr().out
    assert cli.main(["report", "--warehouse", str(wh), "--day", "2001-01-01"]) == 1
    assert "no profiles on 2001-01-01" in capsys.readouterr().err
    assert cli.main(["report", "--warehouse", str(tmp_path / "nowhere")]) == 1


def expected_day(wh: Path) -> str:
    return json.loads((wh / "_meta" / "last_run.json").read_text())["as_of"]
