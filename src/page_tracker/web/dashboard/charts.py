"""Charts as SVG drawn on the server: readable without JavaScript, labelled for screen readers."""

from dataclasses import dataclass
from html import escape

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 16, 44
MAX_X_LABELS = 8


@dataclass(frozen=True)
class Point:
    """One step of a series: its label and its two figures."""

    label: str
    views: int
    visitors: int


def nice_ceiling(value: int) -> int:
    """Return the least round number at or above `value`: 1, 2, 2.5 or 5 x 10^n, whole."""
    power = 1
    while True:
        # 5 * power // 2 is 2.5 x 10^n from 25 up (and 2 below, which adds nothing).
        for round_number in (power, 2 * power, 5 * power // 2, 5 * power):
            if round_number >= value:
                return round_number
        power *= 10


def series_chart(
    points: list[Point], title: str, unit: str, what: str = "views", chart_id: str = "chart"
) -> str:
    """Return an SVG chart of views (bars) and visitors (line) per step, with axes and tooltips.

    Every bar carries a <title> (a tooltip on hover), and the chart is named by its title and
    a summary; the page also gives the same figures as a table for screen readers.
    """
    # Four steps of a round size, so every tick is a distinct whole number.
    highest = max((max(p.views, p.visitors) for p in points), default=0)
    top = 4 * nice_ceiling(-(-highest // 4))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(len(points), 1)
    total = sum(p.views for p in points)
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{total} {what} over {len(points)} {escape(unit)}s; '
        f"highest {max((p.views for p in points), default=0)} {what} in one {escape(unit)}</desc>",
    ]
    for tick in range(5):
        value = top * tick // 4
        y = TOP + plot_h - plot_h * tick / 4
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="axis" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{value}</text>'
        )
    every = max(1, -(-len(points) // MAX_X_LABELS))
    line = []
    for index, point in enumerate(points):
        x = LEFT + index * step
        height = plot_h * point.views / top
        tip = f"{escape(point.label)}: {point.views} {what}, {point.visitors} visitors"
        parts.append(
            f'<rect class="bar" x="{x + step * 0.1:.1f}" y="{TOP + plot_h - height:.1f}" '
            f'width="{max(step * 0.8, 1):.1f}" height="{height:.1f}"><title>{tip}</title></rect>'
        )
        line.append(f"{x + step / 2:.1f},{TOP + plot_h - plot_h * point.visitors / top:.1f}")
        if index % every == 0:
            parts.append(
                f'<text class="axis" x="{x + step / 2:.1f}" y="{HEIGHT - BOTTOM + 16}" '
                f'text-anchor="middle">{escape(point.label)}</text>'
            )
    if line:
        parts.append(f'<polyline class="visitors" points="{" ".join(line)}"/>')
    parts.append(
        f'<text class="axis unit" x="{LEFT}" y="{HEIGHT - 6}">{what} (bars) and visitors (line) '
        f"per {escape(unit)}</text></svg>"
    )
    return "".join(parts)


SPARK_W, SPARK_H = 120, 28


def sparkline(values: list[int], title: str) -> str:
    """Return a small SVG line of `values`, named by `title` for screen readers and on hover."""
    top = max(values, default=0) or 1
    step = SPARK_W / max(len(values) - 1, 1)
    points = " ".join(
        f"{index * step:.1f},{SPARK_H - 2 - (SPARK_H - 4) * value / top:.1f}"
        for index, value in enumerate(values)
    )
    return (
        f'<svg class="spark" viewBox="0 0 {SPARK_W} {SPARK_H}" role="img" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
        f'<polyline points="{points}"/></svg>'
    )
