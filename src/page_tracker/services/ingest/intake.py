"""Where page views come in: a beacon or pixel from a browser, or a batch from a server."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple

from redis import Redis

from page_tracker.services import budgets, idempotency
from page_tracker.services.ingest import inbox
from page_tracker.services.ingest.agents import MAX_USER_AGENT
from page_tracker.services.ingest.events import (
    EventError,
    PageView,
    RefusedEventError,
    check_origin,
    check_time,
    parse_event,
)
from page_tracker.services.ingest.plans import admitted_plan, record
from page_tracker.services.ingest.visits import Visit, visit
from page_tracker.services.sites import Grant, Site, SiteBook, SiteError
from page_tracker.store.budgets import Budget, Spent
from page_tracker.store.calls import Calls

COUNTED, BOT, PRIVATE = "counted", "bot", "not counted: the visitor asked not to be tracked"
MAX_BATCH = 1000


@dataclass(frozen=True)
class Sender:
    """Who sent a view from a browser: its address, User-Agent, Origin and privacy wish."""

    ip: str
    user_agent: str
    origin: str | None
    opted_out: bool  # a DNT: 1 or Sec-GPC: 1 header


@dataclass(frozen=True)
class Intake:
    """What taking views in needs: Redis, the day's visitor secrets, sites, the drainer.

    `calls` reads a site's settings and queues a view: on the event loop, the loop's client.
    A day's visitor secret comes from a cache that the blocking client fills once a day.
    """

    redis: Redis
    secrets: dict[date, bytes]
    sites: SiteBook
    drainer: inbox.Drainer
    calls: Calls


async def accept(
    intake: Intake, raw: Any, sender: Sender, now: datetime, budget: Budget | None = None
) -> tuple[str, Spent | None]:
    """Queue one view from a browser; return COUNTED, BOT or PRIVATE, and what was spent.

    A view that is queued spends the sender's `budget` in the site, in the same step.  Raise
    EventError (or RefusedEventError) for a view that cannot count, UnknownSiteError for a site
    nobody registered, and OverBudgetError (queueing nothing) past the budget.
    """
    view = parse_event(raw)
    site = await intake.sites.find(intake.calls, view.site)
    check_origin(site, view, sender.origin)
    if site.honor_dnt and (view.dnt or sender.opted_out):
        return PRIVATE, None
    agent = sender.user_agent[:MAX_USER_AGENT]
    seen = visit(intake.redis, intake.secrets, site, view, now, sender.ip, agent)
    charge = (
        None
        if budget is None
        else budgets.charge(intake.redis, budget, sender.ip, now, intake.secrets, site.name)
    )
    spent = budgets.paid(charge, await intake.calls.run(inbox.queue(seen, charge)))
    intake.drainer.filled(site.name)
    return (BOT if seen.agent.bot else COUNTED), spent


def _server_event(
    intake: Intake, grant: Grant, raw: Any, now: datetime, known: dict[str, Site]
) -> tuple[Site, PageView, datetime]:
    view = parse_event(raw, server_side=True)
    if not grant.can_ingest(view.site):
        raise RefusedEventError(f"this token may not send views of {view.site}")
    site = known.get(view.site)
    if site is None:  # a batch names a few sites: each is looked up once
        site = known[view.site] = intake.sites.get(intake.redis, view.site)
    check_origin(site, view, None)
    return site, view, check_time(site, view.timestamp, now)


class Counted(NamedTuple):
    """A batch's JSON answer, how many of its events were accepted, and if it was a replay."""

    answer: str
    accepted: int
    replayed: bool = False


# What became of each event of a batch, in order: None if it was accepted, else its error.
Outcomes = list[EventError | SiteError | None]


def count_batch(
    intake: Intake,
    grant: Grant,
    events: list[Any],
    now: datetime,
    answer: Callable[[Outcomes], str],
    key: str | None,
) -> Counted:
    """Count a batch of server-side views; return the answer `answer` makes of its outcomes.

    With an Idempotency-Key `key`, the answer is kept with the counts, and a batch sent again
    gets the answer it got the first time and counts nothing more.
    """
    if key is None:
        return _count_batch(intake, grant, events, now, answer, None)
    name, answered = idempotency.claim(intake.redis, grant.token_id, key)
    if answered is not None:
        return Counted(answered, 0, replayed=True)
    try:
        return _count_batch(intake, grant, events, now, answer, name)
    except Exception:
        idempotency.release(intake.redis, name)
        raise


def _count_batch(
    intake: Intake,
    grant: Grant,
    events: list[Any],
    now: datetime,
    answer: Callable[[Outcomes], str],
    name: str | None,
) -> Counted:
    outcomes: Outcomes = []
    visits: dict[str, tuple[Site, list[Visit]]] = {}
    known: dict[str, Site] = {}
    for raw in events:
        try:
            site, view, when = _server_event(intake, grant, raw, now, known)
        except (EventError, SiteError) as error:
            outcomes.append(error)
            continue
        outcomes.append(None)
        if site.honor_dnt and view.dnt:
            continue
        seen = visit(intake.redis, intake.secrets, site, view, when, view.ip, view.user_agent)
        visits.setdefault(site.name, (site, []))[1].append(seen)
    plans = [admitted_plan(intake.redis, site, of_site) for site, of_site in visits.values()]
    answered = answer(outcomes)
    if name is not None:
        idempotency.record(intake.redis, plans, now, name, answered)
    elif plans:
        record(intake.redis, plans, now)
    return Counted(answered, outcomes.count(None))
