"""The writes that count visits: one plan per site, applied atomically."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta

from redis import Redis

from page_tracker.services.ingest.agents import Agent
from page_tracker.services.ingest.visits import Visit
from page_tracker.services.sites import Site, local_day
from page_tracker.store import analytics as store
from page_tracker.store import keys
from page_tracker.store.keys import AgentField, DayField

# Distinct pages (and referrers, and sources) a site keeps per day; the rest count as OTHER,
# so that no stream of made-up paths grows memory without end.
MAX_DISTINCT_PER_DAY = 5000
OTHER = "(other)"
# "Right now" means the last five minutes.
NOW_MINUTES = 5
# What a view counts under: its page, host, referrer and source.
_What = tuple[str, str | None, str | None, str | None]


def expires_at(site: Site, day: date) -> int:
    """Return the unix time the data of `day` outlives the site's retention."""
    end = datetime.combine(day + timedelta(days=site.retention_days + 1), time(), site.zone)
    return int(end.timestamp())


def month_end(day: date) -> date:
    """Return the last day of `day`'s month."""
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


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
        name = site.name
        return cls(
            expires_at(site, day),
            keys.day_counts(name, day),
            keys.day_visitors(name, day),
            tuple(keys.hour_visitors(name, day, hour) for hour in range(24)),
            expires_at(site, month_end(day)),
            {
                kind: (keys.day_ranking(name, day, kind), keys.month_ranking(name, day, kind))
                for kind in ("pages", "referrers", "sources")
            },
        )


def _ranked_members(site: Site, what: "_What") -> list[tuple[str, str]]:
    page, host, referrer, source = what
    ranked = [("pages", page)]
    if referrer and referrer != host and not site.allows(referrer):
        ranked.append(("referrers", referrer))
    if source:
        ranked.append(("sources", source))
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
    # Most views of a batch repeat a page, an agent and an hour: they are tallied first, and
    # each group is written once, with its count.
    tally: dict[tuple[date, int, _What, Agent], int] = {}
    # Visitors by (day, hour, page, minute), the keys of the sketches they go into.
    visitors: dict[tuple[date, int, str, int], set[str]] = {}
    zone = site.zone
    for visit in visits:
        local = visit.when.astimezone(zone)
        day, hour = local.date(), local.hour
        view = visit.view
        group = (day, hour, (view.page, view.host, view.referrer, view.source), visit.agent)
        tally[group] = tally.get(group, 0) + 1
        if visit.visitor is not None and not visit.agent.bot:
            sketches = day, hour, view.page, int(visit.when.timestamp()) // 60
            seen = visitors.get(sketches)
            if seen is None:
                seen = visitors[sketches] = set()
            seen.add(visit.visitor)
    writes = store.Plan()
    days = _Days(site, writes)
    views = 0
    for (day, hour, what, agent), count in tally.items():
        on = days[day]
        if agent.bot:
            writes.count("h", on.counts, DayField.BOTS, on.expire, count)
            continue
        views += count
        fields = (
            DayField.VIEWS,
            keys.hour_field(hour),
            AgentField.BROWSER + agent.browser,
            AgentField.OS + agent.os,
            AgentField.DEVICE + agent.device,
        )
        for field in fields:
            writes.count("h", on.counts, field, on.expire, count)
        for kind, member in _ranked_members(site, what):
            of_day, of_month = on.rankings[kind]
            writes.count("z", of_day, member, on.expire, count)
            writes.count("z", of_month, member, on.month_expire, count)
    for (day, hour, page, minute), seen in visitors.items():
        on = days[day]
        writes.add(on.visitors, seen, on.expire)
        writes.add(on.hours[hour], seen, on.expire)
        writes.add(keys.page_visitors(site.name, day, page), seen, on.expire)
        # Visitors right now: one sketch a minute, kept for NOW_MINUTES (a late view's sketch
        # expires at once).
        writes.add(keys.minute_visitors(site.name, minute), seen, (minute + NOW_MINUTES) * 60)
    if views:
        writes.channel, writes.message = keys.live_channel(site.name), str(views)
    return writes


class _Days(dict[date, _DayKeys]):
    """The keys of each day a plan writes, worked out once a day and noted in the plan."""

    def __init__(self, site: Site, writes: store.Plan) -> None:
        super().__init__()
        self.site, self.writes = site, writes

    def __missing__(self, day: date) -> _DayKeys:
        on = self[day] = _DayKeys.of(self.site, day)
        self.writes.day_rankings.update(
            (of_day, (day, kind)) for kind, (of_day, _) in on.rankings.items()
        )
        return on


def record(redis: Redis, plans: Sequence[store.Plan], now: datetime) -> None:
    """Apply the plans of one request: each site's atomically, all in one round trip."""
    store.apply(redis, plans, int(now.timestamp()))
