"""Server-side SVG charts: bars and lines drawn from a series, with no script and no inline style.

Colours come from CSS classes (`chart-series-1`, …) so the themes restyle them and a strict
Content-Security-Policy allows them. Every chart carries a `<title>` and `<desc>` for screen
readers and a `<title>` per mark (the hover tooltip); pages also render the numbers as a table.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

WIDTH = 420
HEIGHT = 210
PAD_LEFT = 40
PAD_RIGHT = 12
PAD_TOP = 12
PAD_BOTTOM = 28
MAX_X_LABELS = 5


@dataclass(frozen=True)
class Series:
    name: str
    values: list[float]
    tone: str = "primary"  # the CSS class `chart-tone-<tone>` colours it: primary, danger, muted


@dataclass(frozen=True)
class Chart:
    title: str
    description: str
    labels: list[str]
    series: list[Series]
    kind: str = "bar"  # "bar" (grouped) or "line"
    unit: str = ""  # appended to tooltip numbers, e.g. "%"


GRID_STEPS = 5


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 x 10^n at or above `value`, at least 5: a round axis top whose
    fifths are whole numbers (counts never get fractional grid lines)."""
    if value <= 5:
        return 5.0
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return float(step * magnitude)
    return float(10 * magnitude)  # unreachable: 10 x magnitude is always above value


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def render(chart: Chart) -> Markup:
    """The chart as an inline `<svg>` element (scales with its container through the viewBox)."""
    count = len(chart.labels)
    top = nice_ceiling(max((v for s in chart.series for v in s.values), default=0.0))
    plot_w = WIDTH - PAD_LEFT - PAD_RIGHT
    plot_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    slot = plot_w / max(count, 1)

    def y(value: float) -> float:
        return PAD_TOP + plot_h - (value / top) * plot_h

    parts = [
        f'<svg class="chart chart-{escape(chart.kind)}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{_id(chart)}-t {_id(chart)}-d" focusable="false">',
        f'<title id="{_id(chart)}-t">{escape(chart.title)}</title>',
        f'<desc id="{_id(chart)}-d">{escape(chart.description)}</desc>',
    ]
    for step in range(GRID_STEPS + 1):  # horizontal grid lines with their values
        value = top * step / GRID_STEPS
        line_y = y(value)
        parts.append(
            f'<line class="chart-grid" x1="{PAD_LEFT}" x2="{WIDTH - PAD_RIGHT}" y1="{line_y:.1f}" y2="{line_y:.1f}"/>'
        )
        parts.append(
            f'<text class="chart-axis" x="{PAD_LEFT - 6}" y="{line_y + 4:.1f}" text-anchor="end">'
            f"{_number(value)}</text>"
        )
    every = max(1, math.ceil(count / MAX_X_LABELS))
    for index, label in enumerate(chart.labels):
        if index % every == 0:
            x = PAD_LEFT + slot * (index + 0.5)
            parts.append(
                f'<text class="chart-axis" x="{x:.1f}" y="{HEIGHT - 8}" text-anchor="middle">{escape(label)}</text>'
            )
    if chart.kind == "line":
        parts.extend(_lines(chart, slot, y))
    else:
        parts.extend(_bars(chart, slot, y, plot_h))
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text and attribute above is escaped


def _id(chart: Chart) -> str:
    return "chart-" + "".join(c if c.isalnum() else "-" for c in chart.title.lower())


def _tooltip(chart: Chart, series: Series, index: int, value: float) -> str:
    return escape(f"{series.name}, {chart.labels[index]}: {_number(value)}{chart.unit}")


def _bars(chart: Chart, slot: float, y: Callable[[float], float], plot_h: float) -> list[str]:
    parts = []
    groups = len(chart.series)
    bar_w = max(slot * 0.7 / max(groups, 1), 1.0)
    for s_index, series in enumerate(chart.series):
        for index, value in enumerate(series.values):
            x = PAD_LEFT + slot * index + slot * 0.15 + bar_w * s_index
            top = y(value)
            height = max(PAD_TOP + plot_h - top, 0.0)
            parts.append(
                f'<rect class="chart-bar chart-tone-{escape(series.tone)}" x="{x:.1f}" y="{top:.1f}" '
                f'width="{bar_w:.1f}" height="{height:.1f}" rx="2">'
                f"<title>{_tooltip(chart, series, index, value)}</title></rect>"
            )
    return parts


def _lines(chart: Chart, slot: float, y: Callable[[float], float]) -> list[str]:
    parts = []
    for series in chart.series:
        points = [(PAD_LEFT + slot * (i + 0.5), y(v)) for i, v in enumerate(series.values)]
        if len(points) > 1:
            path = " ".join(f"{x:.1f},{py:.1f}" for x, py in points)
            parts.append(f'<polyline class="chart-line chart-tone-{escape(series.tone)}" points="{path}"/>')
        for index, ((x, py), value) in enumerate(zip(points, series.values, strict=True)):
            parts.append(
                f'<circle class="chart-dot chart-tone-{escape(series.tone)}" cx="{x:.1f}" cy="{py:.1f}" r="3">'
                f"<title>{_tooltip(chart, series, index, value)}</title></circle>"
            )
    return parts
