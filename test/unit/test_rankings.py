"""Which sorted sets a range's rankings sum: whole months where they are whole and kept."""

from datetime import date

import pytest

from page_tracker.services.site_figures import ranking_keys
from page_tracker.services.sites import make_site
from test.clock import now

pytestmark = pytest.mark.dates

SITE = make_site("blog", ["example.com"], retention_days=365)
# The year the tests run in: the shapes below (month lengths, a year's span) hold in any year.
YEAR = now().year
TODAY = date(YEAR, 11, 24)


def periods(first: date, last: date, today: date = TODAY) -> list[str]:
    return [name.split(":")[3] for name in ranking_keys(SITE, "pages", first, last, today)]


def test_whole_months_use_the_month_and_the_edges_use_days() -> None:
    assert periods(date(YEAR, 9, 29), date(YEAR, 11, 2)) == [
        f"{YEAR}-09-29", f"{YEAR}-09-30", f"{YEAR}-10", f"{YEAR}-11-01", f"{YEAR}-11-02",
    ]  # fmt: skip


def test_a_year_sums_about_a_dozen_sets() -> None:
    assert len(periods(date(YEAR - 1, 11, 25), TODAY)) == 6 + 11 + 24


def test_a_month_whose_first_days_expired_is_read_by_day() -> None:
    # Kept since 24 November last year: that November's month set still holds its expired days.
    names = periods(date(YEAR - 1, 11, 1), date(YEAR - 1, 12, 31))
    assert names[:30] == [f"{YEAR - 1}-11-{day:02d}" for day in range(1, 31)]
    assert names[30:] == [f"{YEAR - 1}-12"]


def test_the_month_of_today_is_read_by_day_until_it_is_whole() -> None:
    assert periods(date(YEAR, 11, 1), TODAY)[-1] == f"{YEAR}-11-24"
