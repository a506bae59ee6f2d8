"""Write src/page_tracker/badge_widths.json: advance widths of DejaVu Sans, regular and bold.

Run with fontTools installed and Debian's fonts-dejavu-core:
    python scripts/font_widths.py /usr/share/fonts/truetype/dejavu \
        > src/page_tracker/badge_widths.json
"""

import json
import statistics
import sys
from pathlib import Path

from fontTools.ttLib import TTFont

# Basic Latin through Latin Extended-B: what counter labels and numbers use.
CODEPOINTS = range(0x20, 0x250)


def widths(font_file: Path) -> dict[str, object]:
    """Return the advance width of each character as a fraction of the font size."""
    font = TTFont(font_file)
    units = font["head"].unitsPerEm
    cmap = font.getBestCmap()
    advances = {
        chr(code): round(font["hmtx"][cmap[code]][0] / units, 4)
        for code in CODEPOINTS
        if code in cmap
    }
    return {"default": round(statistics.mean(advances.values()), 4), "em": advances}


def main() -> None:
    """Print the table as JSON."""
    folder = Path(sys.argv[1])
    table = {
        "font": "DejaVu Sans",
        "regular": widths(folder / "DejaVuSans.ttf"),
        "bold": widths(folder / "DejaVuSans-Bold.ttf"),
    }
    json.dump(table, sys.stdout, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


if __name__ == "__main__":
    main()
