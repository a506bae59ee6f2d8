"""The project's Markdown: its files, their links, their headings and their runnable blocks."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# A shell block whose info string says `runnable` is run by the e2e tests, as it is written.
RUNNABLE = re.compile(r"^```sh runnable\n(.*?)^```$", re.MULTILINE | re.DOTALL)
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6} (.+)$", re.MULTILINE)
CODE = re.compile(r"^```.*?^```$", re.MULTILINE | re.DOTALL)


def documents() -> list[Path]:
    """Return the README, the changelog and every page under docs/ that this checkout holds.

    The image's test stage holds the README alone; the README's links name the others, so a
    checkout that misses one fails test/repo.
    """
    pages = [ROOT / "README.md", ROOT / "CHANGELOG.md", *sorted((ROOT / "docs").glob("*.md"))]
    return [page for page in pages if page.is_file()]


def prose(page: Path) -> str:
    """Return a page's text without its code blocks, where a `#` line is no heading."""
    return CODE.sub("", page.read_text(encoding="utf-8"))


def links(page: Path) -> list[str]:
    """Return the targets of a page's Markdown links and images."""
    return LINK.findall(prose(page))


def anchors(page: Path) -> set[str]:
    """Return the anchors a page's headings get, as GitHub makes them."""
    return {slug(heading) for heading in HEADING.findall(prose(page))}


def slug(heading: str) -> str:
    """Return a heading's anchor: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def runnable_blocks() -> list[tuple[str, str]]:
    """Return (page, block) for every runnable shell block."""
    return [
        (page.relative_to(ROOT).as_posix(), block)
        for page in documents()
        for block in RUNNABLE.findall(page.read_text(encoding="utf-8"))
    ]
