"""The README is short, and every relative link of it and of the docs leads somewhere."""

from pathlib import Path

import pytest

from test.docs import ROOT, anchors, documents, links, runnable_blocks

LINKS = [
    pytest.param(page, target, id=f"{page.relative_to(ROOT)}:{target}")
    for page in documents()
    for target in links(page)
    if not target.startswith(("http://", "https://", "mailto:"))
]


def test_the_pages_have_relative_links_and_runnable_blocks() -> None:
    assert len(LINKS) > 20
    assert {page for page, _ in runnable_blocks()} >= {"docs/api.md", "docs/configuration.md"}


@pytest.mark.parametrize(("page", "target"), LINKS)
def test_a_relative_link_leads_somewhere(page: Path, target: str) -> None:
    path, _, anchor = target.partition("#")
    linked = (page.parent / path).resolve() if path else page
    assert linked.is_file(), f"{target} is not a file"
    assert linked.is_relative_to(ROOT)
    if anchor:
        assert anchor in anchors(linked), f"{linked.name} has no heading #{anchor}"


def test_the_readme_is_short() -> None:
    assert len((ROOT / "README.md").read_text(encoding="utf-8").splitlines()) <= 150
