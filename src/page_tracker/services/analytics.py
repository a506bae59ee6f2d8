"""Website analytics: page views checked, classified and counted; figures over a range."""

import hashlib
import ipaddress
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import ua_parser
from crawlerdetect import CrawlerDetect
from redis import Redis
from redis.client import PubSub

from page_tracker.services.counters import day_secret
from page_tracker.services.sites import Site
from page_tracker.store import analytics as store
from page_tracker.store import keys

UTC_ZONE = ZoneInfo("UTC")
MAX_URL = 2048
MAX_USER_AGENT = 1024
MAX_WIDTH = 100_000
MAX_SOURCE = 100
# A page is kept by its path, cut to this length: each distinct path costs memory for the
# whole retention.
MAX_PAGE = 256
# Distinct pages (and referrers, and sources) a site keeps per day; the rest count as OTHER,
# so that no stream of made-up paths grows memory without end.
MAX_DISTINCT_PER_DAY = 5000
OTHER = "(other)"
# scheme://, a host name of at most 253 characters, :port.
MAX_ORIGIN = 270
# A logged page view may be sent late, but not from the future beyond clock skew.
MAX_SKEW_S = 300
# "Right now" means the last five minutes.
NOW_MINUTES = 5
MOBILE_OS = {"iOS", "Android", "Windows Phone", "BlackBerry OS", "KaiOS", "Firefox OS"}
_CRAWLERS = CrawlerDetect()


class EventError(ValueError):
    """A page view that cannot be counted; `status` says why (400 malformed, 403 refused)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class PageView:
    """A page view as reported, checked but not yet tied to a site."""

    site: str
    host: str | None
    page: str
    referrer: str | None
    source: str | None
    dnt: bool = False
    ip: str | None = None
    user_agent: str | None = None
    timestamp: float | None = None


def _text(event: Mapping[str, Any], name: str, limit: int) -> str | None:
    value = event.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise EventError(400, f"{name} must be a string of at most {limit} characters")
    return value


def parse_event(event: Any, *, server_side: bool = False) -> PageView:
    """Return a checked page view, or raise EventError saying what is wrong.

    `server_side` events (batches) may name a page by path and carry the visitor's ip,
    user_agent and the timestamp of the view.
    """
    if not isinstance(event, dict):
        raise EventError(400, "an event must be a JSON object")
    site = event.get("site")
    if not isinstance(site, str) or not site:
        raise EventError(400, "site is required: the name the site was registered with")
    url = _text(event, "url", MAX_URL)
    if url is None:
        raise EventError(400, "url is required: the page's address")
    parts = urlsplit(url)
    if parts.scheme in ("http", "https") and parts.hostname:
        host: str | None = parts.hostname
    elif server_side and url.startswith("/") and not url.startswith("//"):
        host = None
    else:
        allowed = "an absolute http(s) URL" + (" or a path starting with /" if server_side else "")
        raise EventError(400, f"url must be {allowed}, got {url[:100]!r}")
    width = event.get("width")
    if width is not None and (
        isinstance(width, bool) or not isinstance(width, int) or not 0 <= width <= MAX_WIDTH
    ):
        raise EventError(400, f"width must be an integer from 0 to {MAX_WIDTH}")
    dnt = event.get("dnt", False)
    if not isinstance(dnt, bool):
        raise EventError(400, "dnt must be true or false")
    referrer = _text(event, "referrer", MAX_URL)
    source = parse_qs(parts.query).get("utm_source", [None])[0] if parts.query else None
    view = PageView(
        site=site,
        host=host,
        page=(parts.path or "/")[:MAX_PAGE],
        referrer=referrer_host(referrer) if referrer else None,
        source=source.strip().lower()[:MAX_SOURCE] or None if source else None,
        dnt=dnt,
    )
    if not server_side:
        return view
    return _server_side(view, event)


# A host name as DNS has them: dot-separated labels of letters (any script), digits, - and _.
_LABEL = re.compile(r"(?!-)[\w-]{1,63}(?<!-)")
INVALID_HOST = "(invalid)"


def referrer_host(referrer: str) -> str | None:
    """Return the host of a referrer URL, INVALID_HOST if it is no host name, None if none."""
    try:
        host = urlsplit(referrer).hostname
    except ValueError:  # an unclosed [ of an IPv6 address, say
        return INVALID_HOST
    if not host:
        return None
    if host[-1].isdigit() or ":" in host:  # an IP address, perhaps: asked only then (it costs)
        try:
            return str(ipaddress.ip_address(host))
        except ValueError:
            return INVALID_HOST
    labels = host.removesuffix(".").split(".")
    if len(host) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        return INVALID_HOST
    return host


def _server_side(view: PageView, event: Mapping[str, Any]) -> PageView:
    ip = _text(event, "ip", 64)
    if ip is not None:
        try:
            ipaddress.ip_address(ip)
        except ValueError:
            raise EventError(400, f"ip must be an IPv4 or IPv6 address, got {ip!r}") from None
    timestamp = event.get("timestamp")
    if timestamp is not None and (
        isinstance(timestamp, bool) or not isinstance(timestamp, int | float)
    ):
        raise EventError(400, "timestamp must be a number: seconds since 1970 (UTC)")
    return PageView(
        view.site,
        view.host,
        view.page,
        view.referrer,
        view.source,
        view.dnt,
        ip,
        _text(event, "user_agent", MAX_USER_AGENT),
        timestamp,
    )


@dataclass(frozen=True)
class Agent:
    """What a User-Agent says of the visitor: a bot, or a browser on an OS and a device."""

    bot: bool
    browser: str = ""
    os: str = ""
    device: str = ""


@lru_cache(maxsize=8192)
def classify(user_agent: str) -> Agent:
    """Return what `user_agent` says (a missing one is a bot: every browser sends one)."""
    if not user_agent.strip() or _CRAWLERS.is_crawler(user_agent):
        return Agent(bot=True)
    parsed = ua_parser.parse(user_agent)
    if parsed.device is not None and parsed.device.family == "Spider":
        return Agent(bot=True)
    browser = parsed.user_agent.family if parsed.user_agent else "Other"
    system = parsed.os.family if parsed.os else "Other"
    model = parsed.device.family if parsed.device else ""
    if "iPad" in model or "Tablet" in model or (system == "Android" and "Mobile" not in user_agent):
        device = "tablet"
    elif system in MOBILE_OS or "Mobile" in user_agent:
        device = "mobile"
    else:
        device = "desktop"
    return Agent(bot=False, browser=browser, os=system, device=device)


@lru_cache(maxsize=4096)
def _hostname(origin: str) -> str | None:
    # Every beacon from a site sends the same few origins.
    return urlsplit(origin).hostname


def check_origin(site: Site, view: PageView, origin: str | None) -> None:
    """Raise EventError 403 unless the page and the sending origin are the site's domains."""
    if view.host is not None and not site.allows(view.host):
        raise EventError(403, f"{view.host} is not a domain of site {site.name}")
    if origin:
        # Checked before the cache: 400 hostile 60 KB origins would otherwise sit in it.
        if len(origin) > MAX_ORIGIN:
            raise EventError(400, f"an Origin header is at most {MAX_ORIGIN} characters")
        host = _hostname(origin)
        if host is None or not site.allows(host):
            raise EventError(403, f"origin {origin[:100]!r} may not report to site {site.name}")


def visitor_id(secret: bytes, site: str, ip: str, user_agent: str) -> str:
    """Return an id of a visitor to `site` that is stable for the secret's day only."""
    message = f"{site}\n{ip}\n{user_agent}".encode()
    return hashlib.blake2b(message, key=secret, digest_size=8).hexdigest()


def expires_at(site: Site, day: date) -> int:
    """Return the unix time the data of `day` outlives the site's retention."""
    end = datetime.combine(day + timedelta(days=site.retention_days + 1), time(), site.zone)
    return int(end.timestamp())


@dataclass(frozen=True)
class Visit:
    """A page view ready to count: where, when (UTC), by whom."""

    view: PageView
    when: datetime
    agent: Agent
    visitor: str | None


# A server-side event that names no User-Agent: a view, of a browser nobody knows.
UNKNOWN_AGENT = Agent(bot=False, browser="Unknown", os="Unknown", device="unknown")


def visit(
    redis: Redis,
    known: dict[date, bytes],
    site: Site,
    view: PageView,
    when: datetime,
    ip: str | None,
    user_agent: str | None,
) -> Visit:
    """Return the view classified, with its visitor's id for the site's day (None if unknown)."""
    agent = classify(user_agent) if user_agent is not None else UNKNOWN_AGENT
    if agent.bot or (ip is None and user_agent is None):
        return Visit(view, when, agent, None)
    secret = day_secret(redis, local_day(site, when), known)
    return Visit(view, when, agent, visitor_id(secret, site.name, ip or "", user_agent or ""))


def _month_end(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def ranking_keys(site: Site, kind: str, first: date, last: date, today: date) -> list[str]:
    """Return the sets whose sum ranks `kind` from `first` to `last`.

    Whole months are read from their month's set when none of their days has expired yet;
    other days from their own sets.  A year's ranking sums about 12 sets, not 365.
    """
    oldest_kept = today - timedelta(days=site.retention_days)
    names, day = [], first
    while day <= last:
        end = _month_end(day)
        if day.day == 1 and end <= last and day >= oldest_kept:
            names.append(keys.ranking(site.name, f"{day:%Y-%m}", kind))
            day = end + timedelta(days=1)
        else:
            names.append(keys.ranking(site.name, day.isoformat(), kind))
            day += timedelta(days=1)
    return names


def local_day(site: Site, when: datetime) -> date:
    """Return the site's date at `when`."""
    return when.astimezone(site.zone).date()


@dataclass(frozen=True)
class _DayKeys:
    """The keys a site's views of one local day write, and when they expire."""

    expire: int
    counts: str
    visitors: str
    hours: tuple[str, ...]
    month_expire: int
    # Each ranking's key of the day and of its month.
    rankings: dict[str, tuple[str, str]]

    @classmethod
    def of(cls, site: Site, day: date) -> "_DayKeys":
        """Return the keys of `site` on `day`."""
        name, month = site.name, f"{day:%Y-%m}"
        return cls(
            expires_at(site, day),
            keys.day_counts(name, day),
            keys.day_visitors(name, day),
            tuple(keys.hour_visitors(name, day, hour) for hour in range(24)),
            expires_at(site, _month_end(day)),
            {
                kind: (keys.ranking(name, day.isoformat(), kind), keys.ranking(name, month, kind))
                for kind in ("pages", "referrers", "sources")
            },
        )


def _ranked_members(site: Site, visit: Visit) -> list[tuple[str, str]]:
    view = visit.view
    ranked = [("pages", view.page)]
    if view.referrer and view.referrer != view.host and not site.allows(view.referrer):
        ranked.append(("referrers", view.referrer))
    if view.source:
        ranked.append(("sources", view.source))
    return ranked


def admitted_plan(redis: Redis, site: Site, visits: Sequence[Visit]) -> store.Plan:
    """Return the plan of `visits`, with pages, referrers and sources past a day's limit OTHER.

    A day keeps MAX_DISTINCT_PER_DAY of each.  What it ranks already counts as itself; new
    names take the room that is left, in the order of their names.  Batches counted at the same
    time may overshoot the limit by what they add together.  The common case costs one round
    trip of ZCARDs: names are looked up only where a day could overflow.
    """
    writes = plan(site, visits)
    ranked = [
        (name, list(writes.counts[name][2]))
        for name in writes.day_rankings
        if name in writes.counts
    ]
    room = [MAX_DISTINCT_PER_DAY - size for size in store.sizes(redis, [n for n, _ in ranked])]
    crowded = [
        (check, left) for check, left in zip(ranked, room, strict=True) if len(check[1]) > left
    ]
    if not crowded:
        return writes
    refused: dict[tuple[date, str], set[str]] = {}
    checks = [check for check, _ in crowded]
    for ((name, members), left), known in zip(crowded, store.held(redis, checks), strict=True):
        new = sorted(member for member, seen in zip(members, known, strict=True) if not seen)
        if len(new) > max(left, 0):
            refused[writes.day_rankings[name]] = set(new[max(left, 0) :])
    if not refused:
        return writes
    return plan(site, [_folded(site, visit, refused) for visit in visits])


def _folded(site: Site, visit: Visit, refused: dict[tuple[date, str], set[str]]) -> Visit:
    day, view = local_day(site, visit.when), visit.view

    def kept(kind: str, member: str | None) -> str | None:
        return OTHER if member is not None and member in refused.get((day, kind), ()) else member

    page = OTHER if view.page in refused.get((day, "pages"), ()) else view.page
    referrer, source = kept("referrers", view.referrer), kept("sources", view.source)
    if (page, referrer, source) == (view.page, view.referrer, view.source):
        return visit
    return replace(visit, view=replace(view, page=page, referrer=referrer, source=source))


def plan(site: Site, visits: Iterable[Visit]) -> store.Plan:
    """Return the writes that count `visits` of `site`."""
    writes = store.Plan()
    name, zone = site.name, site.zone
    views = 0
    # A batch's views fall on a few days: work out each day's keys once.
    days: dict[date, _DayKeys] = {}
    for visit in visits:
        local = visit.when.astimezone(zone)
        day = local.date()
        on = days.get(day)
        if on is None:
            on = days[day] = _DayKeys.of(site, day)
            writes.day_rankings.update(
                (of_day, (day, kind)) for kind, (of_day, _) in on.rankings.items()
            )
        expire = on.expire
        if visit.agent.bot:
            writes.count("h", on.counts, "bots", expire)
            continue
        agent, view = visit.agent, visit.view
        views += 1
        for field in (
            "views",
            f"h{local.hour:02d}",
            "b:" + agent.browser,
            "o:" + agent.os,
            "d:" + agent.device,
        ):
            writes.count("h", on.counts, field, expire)
        for kind, member in _ranked_members(site, visit):
            of_day, of_month = on.rankings[kind]
            writes.count("z", of_day, member, expire)
            writes.count("z", of_month, member, on.month_expire)
        if visit.visitor is not None:
            writes.add(on.visitors, visit.visitor, expire)
            writes.add(on.hours[local.hour], visit.visitor, expire)
            writes.add(keys.page_visitors(name, day, view.page), visit.visitor, expire)
            # Visitors right now: one sketch a minute, kept for NOW_MINUTES (a late view's
            # sketch expires at once).
            minute = int(visit.when.timestamp()) // 60
            writes.add(
                keys.minute_visitors(name, minute), visit.visitor, (minute + NOW_MINUTES) * 60
            )
    if views:
        writes.channel, writes.message = keys.live_channel(name), str(views)
    return writes


def record(redis: Redis, plans: Sequence[store.Plan], now: datetime) -> None:
    """Apply the plans of one request: each site's atomically, all in one round trip."""
    store.apply(redis, plans, int(now.timestamp()))


def check_time(site: Site, timestamp: float | None, now: datetime) -> datetime:
    """Return when a view happened: now, or its timestamp if within the site's retention."""
    if timestamp is None:
        return now
    # Compared as numbers first: a datetime cannot hold 1e20 seconds, nor NaN.
    if not math.isfinite(timestamp) or timestamp > now.timestamp() + MAX_SKEW_S:
        raise EventError(400, "timestamp is in the future")
    if timestamp < 0:
        raise EventError(400, "timestamp must be seconds since 1970 (UTC), not before")
    when = datetime.fromtimestamp(timestamp, UTC)
    if local_day(site, when) < local_day(site, now) - timedelta(days=site.retention_days):
        raise EventError(400, f"timestamp is older than the site's {site.retention_days} days")
    return when


def visitors_now(redis: Redis, site: Site, now: datetime) -> int:
    """Return the distinct visitors of the last NOW_MINUTES minutes."""
    minute = int(now.timestamp()) // 60
    names = [keys.minute_visitors(site.name, minute - back) for back in range(NOW_MINUTES)]
    return store.visitors(redis, names)


def live(redis: Redis, site: Site) -> PubSub:
    """Return a subscription that hears of each batch of views of `site` as it is counted."""
    return store.live(redis, keys.live_channel(site.name))


# Figures over a range.

MAX_RANGE_DAYS = 3660
HOURLY_UP_TO_DAYS = 2
TOP = 10
GROUPS = {"b:": "browsers", "o:": "os", "d:": "devices"}


def _ranked(totals: Counter[str], limit: int) -> list[tuple[str, int]]:
    return sorted(totals.items(), key=lambda item: (-item[1], item[0]))[:limit]


def stats(
    redis: Redis, site: Site, first: date, last: date, today: date, limit: int = TOP
) -> dict[str, Any]:
    """Return a site's totals, time series and top lists from `first` to `last` (its days)."""
    name = site.name
    dates = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    stored = store.days(redis, name, dates)
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
                "views": day.counts.get("views", 0),
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
        "views": sum(day.counts.get("views", 0) for day in stored),
        "visitors": store.visitors(redis, [keys.day_visitors(name, day.day) for day in stored]),
        "bots": sum(day.counts.get("bots", 0) for day in stored),
    }


def totals(redis: Redis, site: Site, first: date, last: date) -> dict[str, int]:
    """Return a site's views, visitors and bots from `first` to `last`, without the lists."""
    dates = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    return _totals(redis, site.name, store.days(redis, site.name, dates))


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
                    "views": day.counts.get(f"h{hour:02d}", 0),
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
