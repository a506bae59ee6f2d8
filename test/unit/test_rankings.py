"""Which sorted sets a range's rankings sum: whole months where they are whole and kept."""

from datetime import date

from page_tracker.services.analytics import ranking_keys
from page_tracker.services.sites import make_site

SITE = make_site("blog", ["example.com"], retention_days=365)


def periods(first: date, last: date, today: date = date(2026, 11, 24)) -> list[str]:
    return [name.split(":")[3] for name in ranking_keys(SITE, "pages", first, last, today)]


def test_whole_months_use_the_month_and_the_edges_use_days() -> None:
    assert periods(date(2026, 9, 29), date(2026, 11, 2)) == [
        "2026-09-29", "2026-09-30", "2026-10", "2026-11-01", "2026-11-02",
    ]  # fmt: skip


def test_a_year_sums_about_a_dozen_sets() -> None:
    assert len(periods(date(2025, 11, 25), date(2026, 11, 24))) == 6 + 11 + 24


def test_a_month_whose_first_days_expired_is_read_by_day() -> None:
    # Kept since 2025-11-24: November 2025's month set still holds its expired first days.
    names = periods(date(2025, 11, 1), date(2025, 12, 31))
    assert names[:30] == [f"2025-11-{day:02d}" for day in range(1, 31)]
    assert names[30:] == ["2025-12"]


def test_the_month_of_today_is_read_by_day_until_it_is_whole() -> None:
    assert periods(date(2026, 11, 1), date(2026, 11, 24))[-1] == "2026-11-24"
