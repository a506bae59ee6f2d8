"""Figures out: a site's totals, series and top lists over a range of its days, and CSV.

Every read first counts what waits in the site's inbox, so figures never miss a view that
was answered.
"""

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from redis import Redis
from redis.client import PubSub

from page_tracker.services.ingest import inbox
from page_tracker.services.ingest.plans import NOW_MINUTES, month_end
from page_tracker.services.sites import Site, local_day
from page_tracker.store import analytics as store
from page_tracker.store import keys
from page_tracker.store.keys import AgentField, DayField

MAX_RANGE_DAYS = 3660
HOURLY_UP_TO_DAYS = 2
TOP = 10
GROUPS: dict[str, str] = {
    AgentField.BROWSER: "browsers",
    AgentField.OS: "os",
    AgentField.DEVICE: "devices",
}
# Named ranges, each ending today: the label shown, and the days spanned.
RANGES = {
    "today": ("Today", 1),
    "7d": ("7 days", 7),
    "30d": ("30 days", 30),
    "12m": ("12 months", 365),
}
DEFAULT_RANGE = "30d"
CUSTOM = "custom"


class RangeError(ValueError):
    """A range that cannot be read: an unknown name, a malformed date, reversed or too long."""


@dataclass(frozen=True)
class Span:
    """A range of a site's days: its name (one of RANGES, or CUSTOM), first and last day."""

    name: str
    first: date
    last: date


def _date(field: str, raw: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise RangeError(f"{field} must be a date such as 2026-11-24, got {raw[:40]!r}") from None


def span(today: date, name: str | None, first: str | None, last: str | None) -> Span:
    """Return the range asked for: dates `first` and `last`, else a named range, else 30 days.

    `last` defaults to today and `first` to 30 days before `last`; a named range ends today.
    """
    if first or last or name == CUSTOM:
        end = _date("to", last) if last else today
        start = (
            _date("from", first) if first else end - timedelta(days=RANGES[DEFAULT_RANGE][1] - 1)
        )
        if start > end:
            raise RangeError("from must not be after to")
        if (end - start).days >= MAX_RANGE_DAYS:
            raise RangeError(f"a range spans at most {MAX_RANGE_DAYS} days")
        return Span(CUSTOM, start, end)
    name = name or DEFAULT_RANGE
    if name not in RANGES:
        raise RangeError(f"range must be one of {', '.join(RANGES)} or {CUSTOM}, got {name[:40]!r}")
    return Span(name, today - timedelta(days=RANGES[name][1] - 1), today)


def figures(
    redis: Redis, site: Site, asked: Span, now: datetime, *, with_now: bool = False
) -> dict[str, Any]:
    """Return the site's totals, series and top lists over `asked`, with every view so far.

    `with_now` adds the visitors of the last NOW_MINUTES minutes as "now".
    """
    inbox.settle(redis, site, now)
    found = counted(redis, site, asked.first, asked.last, local_day(site, now))
    if with_now:
        found["now"] = _visitors_now(redis, site, now)
    return found


def live_totals(redis: Redis, site: Site, asked: Span, now: datetime) -> dict[str, Any]:
    """Return the site's totals over `asked` and its visitors now: what live pages refresh."""
    inbox.settle(redis, site, now)
    return {
        "totals": totals(redis, site, asked.first, asked.last),
        "now": _visitors_now(redis, site, now),
    }


def ranking_keys(site: Site, kind: str, first: date, last: date, today: date) -> list[str]:
    """Return the sets whose sum ranks `kind` from `first` to `last`.

    Whole months are read from their month's set when none of their days has expired yet;
    other days from their own sets.  A year's ranking sums about 12 sets, not 365.
    """
    oldest_kept = today - timedelta(days=site.retention_days)
    names, day = [], first
    while day <= last:
        end = month_end(day)
        if day.day == 1 and end <= last and day >= oldest_kept:
            names.append(keys.month_ranking(site.name, day, kind))
            day = end + timedelta(days=1)
        else:
            names.append(keys.day_ranking(site.name, day, kind))
            day += timedelta(days=1)
    return names


def _visitors_now(redis: Redis, site: Site, now: datetime) -> int:
    minute = int(now.timestamp()) // 60
    names = [keys.minute_visitors(site.name, minute - back) for back in range(NOW_MINUTES)]
    return store.visitors(redis, names)


def live(redis: Redis, site: Site) -> PubSub:
    """Return a subscription that hears of each batch of views of `site` as it is counted."""
    return store.live(redis, keys.live_channel(site.name))


def _ranked(totals: Counter[str], limit: int) -> list[tuple[str, int]]:
    return sorted(totals.items(), key=lambda item: (-item[1], item[0]))[:limit]


def counted(
    redis: Redis, site: Site, first: date, last: date, today: date, limit: int = TOP
) -> dict[str, Any]:
    """Return what is counted of a site from `first` to `last`; figures() counts the inbox first."""
    name = site.name
    stored = _stored(redis, name, first, last)
    dates = [day.day for day in stored]
    groups: dict[str, Counter[str]] = {group: Counter() for group in GROUPS.values()}
    for day in stored:
        for field, value in day.counts.items():
            if (group := GROUPS.get(field[:2])) is not None:
                groups[group][field[2:]] += value
    hourly = len(dates) <= HOURLY_UP_TO_DAYS
    series = (
        _hours(redis, site, stored)
        if hourly
        else [
            {
                "time": day.day.isoformat(),
                "views": day.counts.get(DayField.VIEWS, 0),
                "visitors": day.visitors,
            }
            for day in stored
        ]
    )

    def top(kind: str) -> list[tuple[str, int]]:
        return store.top(redis, name, ranking_keys(site, kind, first, last, today), limit)

    pages = top("pages")
    page_visitors = store.page_visitors(redis, name, [page for page, _ in pages], dates)

    return {
        "site": name,
        "tz": site.tz,
        "from": first.isoformat(),
        "to": last.isoformat(),
        "interval": "hour" if hourly else "day",
        "totals": _totals(redis, name, stored),
        "series": series,
        "pages": [
            {"page": page, "views": views, "visitors": count}
            for (page, views), count in zip(pages, page_visitors, strict=True)
        ],
        "referrers": [{"referrer": host, "views": views} for host, views in top("referrers")],
        "sources": [{"source": source, "views": views} for source, views in top("sources")],
        **{
            group: [
                {group_label(group): member, "views": views}
                for member, views in _ranked(totals, limit)
            ]
            for group, totals in groups.items()
        },
    }


def _totals(redis: Redis, name: str, stored: Sequence[store.Day]) -> dict[str, int]:
    return {
        "views": sum(day.counts.get(DayField.VIEWS, 0) for day in stored),
        "visitors": store.visitors(redis, [keys.day_visitors(name, day.day) for day in stored]),
        "bots": sum(day.counts.get(DayField.BOTS, 0) for day in stored),
    }


def _stored(redis: Redis, name: str, first: date, last: date) -> list[store.Day]:
    """Return each day of a site from `first` to `last` as stored, in one round trip."""
    return store.days(
        redis, name, [first + timedelta(days=n) for n in range((last - first).days + 1)]
    )


def totals(redis: Redis, site: Site, first: date, last: date) -> dict[str, int]:
    """Return a site's views, visitors and bots from `first` to `last`, as counted so far."""
    return _totals(redis, site.name, _stored(redis, site.name, first, last))


def overview(redis: Redis, site: Site, asked: Span, now: datetime) -> dict[str, Any]:
    """Return a site's totals over `asked`, with every view so far, and its views per day.

    For a range of one day, the trend is its views per hour instead.
    """
    inbox.settle(redis, site, now)
    stored = _stored(redis, site.name, asked.first, asked.last)
    if len(stored) == 1:
        trend = [stored[0].counts.get(keys.hour_field(hour), 0) for hour in range(24)]
    else:
        trend = [day.counts.get(DayField.VIEWS, 0) for day in stored]
    return {"totals": _totals(redis, site.name, stored), "trend": trend}


def group_label(group: str) -> str:
    """Return the name of one entry of a top list: browser, os or device."""
    return {"browsers": "browser", "os": "os", "devices": "device"}[group]


def _hours(redis: Redis, site: Site, stored: Sequence[store.Day]) -> list[dict[str, Any]]:
    visitors = store.hour_visitors(redis, site.name, [day.day for day in stored])
    series = []
    for index, day in enumerate(stored):
        for hour in range(24):
            series.append(
                {
                    "time": f"{day.day.isoformat()}T{hour:02d}:00",
                    "views": day.counts.get(keys.hour_field(hour), 0),
                    "visitors": visitors[index * 24 + hour],
                }
            )
    return series


# What makes a spreadsheet read a cell as a formula (OWASP's list for CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: str | int) -> str | int:
    """Return `value` so that no spreadsheet runs it: text that could start a formula gets a '."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def rows(figures: Mapping[str, Any]) -> list[list[str | int]]:
    """Return `stats` figures as CSV rows (section, name, views, visitors), safe to open."""
    table: list[list[str | int]] = [["section", "name", "views", "visitors"]]
    totals = figures["totals"]
    table.append(["total", "", totals["views"], totals["visitors"]])
    table.append(["bots", "", totals["bots"], ""])
    table += [
        [figures["interval"], point["time"], point["views"], point["visitors"]]
        for point in figures["series"]
    ]
    table += [
        ["page", entry["page"], entry["views"], entry["visitors"]] for entry in figures["pages"]
    ]
    for section, label in (
        ("referrers", "referrer"),
        ("sources", "source"),
        ("browsers", "browser"),
        ("os", "os"),
        ("devices", "device"),
    ):
        table += [[label, entry[label], entry["views"], ""] for entry in figures[section]]
    return [[safe_cell(cell) for cell in row] for row in table]
