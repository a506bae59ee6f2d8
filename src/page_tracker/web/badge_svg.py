"""SVG badges in the shields.io look, with text widths from real font metrics."""

import json
import re
from dataclasses import dataclass
from functools import cache, lru_cache
from html import escape
from importlib.resources import files
from typing import Any

STYLES = ("flat", "flat-square", "plastic", "for-the-badge")
NAMED_COLORS = {
    "brightgreen": "#4c1", "green": "#97ca00", "yellowgreen": "#a4a61d", "yellow": "#dfb317",
    "orange": "#fe7d37", "red": "#e05d44", "blue": "#007ec6", "grey": "#555", "gray": "#555",
    "lightgrey": "#9f9f9f", "lightgray": "#9f9f9f", "blueviolet": "#8a2be2",
    "success": "#4c1", "important": "#fe7d37", "critical": "#e05d44",
    "informational": "#007ec6", "inactive": "#9f9f9f",
}  # fmt: skip
HEX = re.compile(r"#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})")
FONT = "DejaVu Sans,Verdana,Geneva,sans-serif"


class BadgeError(ValueError):
    """A badge option has a value that cannot be drawn."""


def color(value: str, what: str) -> str:
    """Return a named or hex colour as #hex, or raise BadgeError saying what is allowed."""
    if value.lower() in NAMED_COLORS:
        return NAMED_COLORS[value.lower()]
    if match := HEX.fullmatch(value):
        return f"#{match.group(1).lower()}"
    raise BadgeError(
        f"{what} must be a hex colour (such as 4c1 or #007ec6) or one of "
        f"{', '.join(sorted(NAMED_COLORS))}; got {value!r}"
    )


@cache
def _widths() -> dict[str, Any]:
    # Advance widths of DejaVu Sans from its own metrics (made by scripts/font_widths.py).
    table: dict[str, Any] = json.loads(
        (files("page_tracker") / "badge_widths.json").read_text(encoding="utf-8")
    )
    return table


def text_width(text: str, size: float = 11, *, bold: bool = False) -> float:
    """Return the width in pixels of `text` in DejaVu Sans at `size` px."""
    table = _widths()["bold" if bold else "regular"]
    em: dict[str, float] = table["em"]
    default: float = table["default"]
    return size * sum(em.get(char, default) for char in text)


@lru_cache(maxsize=1024)  # bounded: colours come from the query string
def _is_light(hex_color: str) -> bool:
    digits = hex_color.lstrip("#")
    if len(digits) == 3:
        digits = "".join(d * 2 for d in digits)
    red, green, blue = (int(digits[i : i + 2], 16) for i in (0, 2, 4))
    return (0.299 * red + 0.587 * green + 0.114 * blue) > 186


# A badge's label and colours rarely change while its figure does: their parts are worked out
# once (in bounded caches: labels come from the query string).
@lru_cache(maxsize=1024)
def _label_width(label: str) -> int:
    return round(text_width(label)) + 10


def _text(text: str, center: float, width: float, fill: str, baseline: int) -> str:
    shadow = "#ccc" if fill == "#333" else "#010101"
    content = escape(text)
    return (
        f'<text aria-hidden="true" x="{center * 10:.0f}" y="{baseline + 10}" '
        f'fill="{shadow}" fill-opacity=".3" transform="scale(.1)" '
        f'textLength="{width * 10:.0f}">{content}</text>'
        f'<text x="{center * 10:.0f}" y="{baseline}" fill="{fill}" transform="scale(.1)" '
        f'textLength="{width * 10:.0f}">{content}</text>'
    )


_label_text = lru_cache(maxsize=1024)(_text)


@dataclass(frozen=True)
class Badge:
    """What a badge says and how it looks."""

    label: str
    message: str
    color: str
    label_color: str = "#555"
    style: str = "flat"

    def svg(self) -> str:
        """Return the badge as an SVG document."""
        if self.style == "for-the-badge":
            return self._big()
        height, radius = (18, 4) if self.style == "plastic" else (20, 3)
        if self.style == "flat-square":
            radius = 0
        label_w = _label_width(self.label)
        message_w = round(text_width(self.message)) + 10
        gloss = {
            "flat": '<stop offset="0" stop-color="#bbb" stop-opacity=".1"/>'
            '<stop offset="1" stop-opacity=".1"/>',
            "plastic": '<stop offset="0" stop-color="#fff" stop-opacity=".7"/>'
            '<stop offset=".1" stop-color="#aaa" stop-opacity=".1"/>'
            '<stop offset=".9" stop-opacity=".3"/><stop offset="1" stop-opacity=".5"/>',
        }.get(self.style, "")
        return self._document(label_w, message_w, height, radius, gloss)

    def _title(self) -> str:
        return escape(f"{self.label}: {self.message}")

    def _document(self, label_w: int, message_w: int, height: int, radius: int, gloss: str) -> str:
        total = label_w + message_w
        baseline = 140 if height == 20 else 130
        label_fill = "#333" if _is_light(self.label_color) else "#fff"
        message_fill = "#333" if _is_light(self.color) else "#fff"
        gradient = (
            f'<linearGradient id="s" x2="0" y2="100%">{gloss}</linearGradient>' if gloss else ""
        )
        overlay = f'<rect width="{total}" height="{height}" fill="url(#s)"/>' if gloss else ""
        label_text = _label_text(self.label, label_w / 2, label_w - 10, label_fill, baseline)
        message_center = label_w + message_w / 2
        message_text = _text(self.message, message_center, message_w - 10, message_fill, baseline)
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{total}" height="{height}" '
            f'role="img" aria-label="{self._title()}"><title>{self._title()}</title>{gradient}'
            f'<clipPath id="r"><rect width="{total}" height="{height}" rx="{radius}" '
            f'fill="#fff"/></clipPath><g clip-path="url(#r)">'
            f'<rect width="{label_w}" height="{height}" fill="{self.label_color}"/>'
            f'<rect x="{label_w}" width="{message_w}" height="{height}" fill="{self.color}"/>'
            f"{overlay}</g>"
            f'<g text-anchor="middle" font-family="{FONT}" text-rendering="geometricPrecision" '
            f'font-size="110">'
            f"{label_text}{message_text}"
            f"</g></svg>"
        )

    def _big(self) -> str:
        # for-the-badge: capitals in bold 10px with 1.25px letter spacing, 28px high.
        label, message = self.label.upper(), self.message.upper()

        def width(text: str) -> int:
            return round(text_width(text, 10, bold=True) + 1.25 * len(text))

        label_w, message_w = width(label) + 24, width(message) + 24
        total = label_w + message_w
        label_fill = "#333" if _is_light(self.label_color) else "#fff"
        message_fill = "#333" if _is_light(self.color) else "#fff"
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{total}" height="28" role="img" '
            f'aria-label="{self._title()}"><title>{self._title()}</title><g>'
            f'<rect width="{label_w}" height="28" fill="{self.label_color}"/>'
            f'<rect x="{label_w}" width="{message_w}" height="28" fill="{self.color}"/></g>'
            f'<g text-anchor="middle" font-family="{FONT}" text-rendering="geometricPrecision" '
            f'font-size="100" font-weight="bold" letter-spacing="12.5">'
            f'<text x="{label_w * 5}" y="175" transform="scale(.1)" fill="{label_fill}" '
            f'textLength="{(label_w - 24) * 10}">{escape(label)}</text>'
            f'<text x="{(label_w + message_w / 2) * 10:.0f}" y="175" transform="scale(.1)" '
            f'fill="{message_fill}" textLength="{(message_w - 24) * 10}">{escape(message)}</text>'
            f"</g></svg>"
        )
