"""Charts drawn at build time as inline SVG with matplotlib (Agg's SVG writer, no pyplot state).

Re-rendering the same data gives the same bytes: no date in the metadata, a fixed hash salt per
chart (so the ids of two charts on one page never collide), text kept as text.
"""

from __future__ import annotations

import html
import io
import math
import re

import matplotlib
from matplotlib.dates import DateFormatter, DayLocator
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from report.formats import fmt_compact, fmt_int

INK = "#1f2937"
MUTED = "#6b7280"
GRID = "#e5e7eb"
FOLLOWERS = "#6d28d9"
ENGAGEMENT = "#14b8a6"
TIER_COLOURS = {
    "nano": "#c4b5fd",
    "micro": "#6d28d9",
    "macro": "#4c1d95",
    "mega": "#1e1b4b",
    "unknown": "#d1d5db",
}

_STYLE = {
    "svg.fonttype": "none",
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans"],
    "font.size": 9,
    "axes.edgecolor": GRID,
    "axes.labelcolor": MUTED,
    "xtick.color": MUTED,
    "ytick.color": MUTED,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


def _svg(fig: Figure, salt: str, label: str) -> str:
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": f"microradar-{salt}", **_STYLE}):
        fig.savefig(buffer, format="svg", metadata={"Date": None}, bbox_inches=None)
    text = buffer.getvalue()
    text = text[text.index("<svg") :]  # no XML declaration or DOCTYPE inside HTML
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.DOTALL)
    # Size from CSS: keep the viewBox, drop the fixed width and height.
    text = re.sub(r'<svg([^>]*?) width="[^"]*" height="[^"]*"', r"<svg\1", text, count=1)
    # Ids unique on the page: every chart's own (matplotlib numbers them from 1 in each figure).
    text = re.sub(r'\bid="([^"]+)"', rf'id="{salt}-\1"', text)
    text = re.sub(r"url\(#([^)]+)\)", rf"url(#{salt}-\1)", text)
    text = re.sub(r'href="#([^"]+)"', rf'href="#{salt}-\1"', text)
    label = html.escape(label)
    text = text.replace("<svg", f'<svg class="chart" role="img" aria-label="{label}" data-chart="{salt}"', 1)
    head_end = text.index(">") + 1
    return text[:head_end] + f"\n <title>{label}</title>" + text[head_end:]


def _figure(width: float, height: float) -> Figure:
    with matplotlib.rc_context(_STYLE):
        return Figure(figsize=(width, height), dpi=72)


def growth_chart(series: list[dict], salt: str, title: str, label: str) -> str:
    """Followers (line, top) and interactions per day (bars, bottom) over the same days."""
    days = [row["day"] for row in series]
    followers = [float("nan") if row["followers"] is None else row["followers"] for row in series]
    interactions = [row["interactions"] for row in series]
    with matplotlib.rc_context(_STYLE):
        fig = _figure(5.6, 2.9)
        top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 2], "hspace": 0.18})
        fig.subplots_adjust(left=0.11, right=0.95, top=0.9, bottom=0.1)
        top.plot(days, followers, color=FOLLOWERS, linewidth=2, solid_capstyle="round")
        known = [f for f in followers if not math.isnan(f)]
        if known:
            floor = min(known) * 0.97
            top.fill_between(days, followers, floor, color=FOLLOWERS, alpha=0.08, linewidth=0)
            top.set_ylim(bottom=floor)
        top.set_title("followers", loc="left", fontsize=9, color=FOLLOWERS, pad=3)
        bottom.bar(days, interactions, width=0.8, color=ENGAGEMENT, linewidth=0)
        bottom.set_title("interactions per day", loc="left", fontsize=9, color="#0f766e", pad=3)
        for ax in (top, bottom):
            ax.yaxis.set_major_formatter(FuncFormatter(fmt_compact))
            ax.yaxis.set_major_locator(MaxNLocator(3))
            ax.grid(axis="y", color=GRID, linewidth=0.6)
            ax.set_axisbelow(True)
            ax.tick_params(length=0, labelsize=8)
        bottom.xaxis.set_major_locator(DayLocator(bymonthday=(1, 15)))
        bottom.xaxis.set_major_formatter(DateFormatter("%d %b"))
        if days:
            bottom.set_xlim(days[0], days[-1])
        fig.text(0.95, 0.955, title, ha="right", va="center", fontsize=8, color=MUTED)
        return _svg(fig, salt, label)


def tier_mix_chart(rows: list[dict], salt: str = "tier-mix") -> str:
    """Profiles per tier on the day, one horizontal bar each."""
    tiers = [row["tier"] for row in rows]
    counts = [row["profiles"] for row in rows]
    with matplotlib.rc_context(_STYLE):
        fig = _figure(5.0, 0.45 * max(len(rows), 1) + 0.5)
        fig.subplots_adjust(left=0.16, right=0.9, top=0.95, bottom=0.12)
        ax = fig.subplots()
        positions = list(range(len(rows)))[::-1]
        ax.barh(positions, counts, color=[TIER_COLOURS.get(t, "#9ca3af") for t in tiers], height=0.62)
        ax.set_yticks(positions, tiers)
        gap = max(counts or [1]) * 0.015
        for y, n in zip(positions, counts):
            ax.text(n + gap, y, fmt_int(n), va="center", ha="left", fontsize=9, color=INK)
        ax.xaxis.set_visible(False)
        ax.spines["bottom"].set_visible(False)
        ax.spines["left"].set_visible(False)
        ax.tick_params(length=0, labelsize=9)
        ax.set_xlim(0, max(counts or [1]) * 1.15)
        return _svg(
            fig, salt, "Profiles per tier: " + ", ".join(f"{t} {fmt_int(n)}" for t, n in zip(tiers, counts))
        )
