"""Server-drawn SVG charts: axes with distinct ticks and units, tooltips, names for readers."""

import re
import xml.etree.ElementTree as ET

from page_tracker.web.dashboard.charts import Point, series_chart

SVG = "{http://www.w3.org/2000/svg}"


def test_ticks_are_distinct_round_numbers_up_past_the_highest_figure() -> None:
    for highest, ticks in ((1, [0, 1, 2, 3, 4]), (15, [0, 5, 10, 15, 20]), (0, [0, 1, 2, 3, 4]),
                           (900, [0, 250, 500, 750, 1000])):  # fmt: skip
        svg = series_chart([Point("a", highest, 0)], "t", "day")
        axis = [int(t) for t in re.findall(r'text-anchor="end">(\d+)<', svg)]
        assert axis == ticks, highest


def test_every_bar_has_a_tooltip_and_the_chart_is_named() -> None:
    points = [Point("11-23", 12, 9), Point("11-24", 3, 2)]
    root = ET.fromstring(  # noqa: S314
        series_chart(points, "Views of blog", "day", chart_id="c")
    )
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "c-title c-desc"
    assert root.find(f"{SVG}title").text == "Views of blog"  # type: ignore[union-attr]
    assert "15 views over 2 days" in root.find(f"{SVG}desc").text  # type: ignore[union-attr,operator]
    tips = [bar.find(f"{SVG}title").text for bar in root.iter(f"{SVG}rect")]  # type: ignore[union-attr]
    assert tips == ["11-23: 12 views, 9 visitors", "11-24: 3 views, 2 visitors"]
    assert "views (bars) and visitors (line) per day" in series_chart(points, "t", "day")


def test_labels_are_escaped() -> None:
    svg = series_chart([Point("<b>", 1, 1)], "a & b", "day")
    assert "<b>" not in svg
    ET.fromstring(  # noqa: S314
        svg
    )  # still well-formed
