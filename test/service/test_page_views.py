"""Page views in the users' words: a browser's view is taken in, counted once, and read back."""

from typing import Any

import pytest
import redis

from page_tracker.services import site_figures, sites
from page_tracker.services.budgets import OverBudgetError
from page_tracker.services.ingest import intake
from page_tracker.services.ingest.events import RefusedEventError
from page_tracker.services.ingest.intake import Intake, Sender
from page_tracker.services.sites import Grant
from page_tracker.store import keys
from page_tracker.store.budgets import Budget, Spent
from page_tracker.store.calls import finish
from test.clock import Clock

CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
pytestmark = pytest.mark.dates

BROWSER = Sender("203.0.113.9", CHROME, "https://example.com", opted_out=False)
ADMIN = Grant("admin", token_id="admin-token")  # noqa: S106 - a token id, not a secret


def view(page: str = "/post", **more: object) -> dict[str, object]:
    return {"site": "blog", "url": f"https://example.com{page}", **more}


def accept(ingest: Intake, *args: Any) -> tuple[str, Spent | None]:
    """Take a view in as the beacon does (the intake's calls are the blocking client's)."""
    return finish(intake.accept(ingest, *args))


def figures(redis_client: redis.Redis, site: sites.Site, clock: Clock) -> dict[str, Any]:
    today = sites.local_day(site, clock.now)
    asked = site_figures.span(today, "today", None, None)
    return site_figures.figures(redis_client, site, asked, clock.now)


def test_a_view_taken_in_counts_once_whoever_drains_it(
    redis_client: redis.Redis, ingest: Intake, blog: sites.Site, clock: Clock
) -> None:
    sent = view(referrer="https://news.example.org/x")
    assert accept(ingest, sent, BROWSER, clock.now) == (intake.COUNTED, None)
    first = figures(redis_client, blog, clock)
    assert first["totals"] == {"views": 1, "visitors": 1, "bots": 0}
    assert first["referrers"] == [{"referrer": "news.example.org", "views": 1}]
    assert redis_client.llen(keys.inbox("blog")) == 0
    assert figures(redis_client, blog, clock)["totals"] == first["totals"]  # counted once


def test_a_visitor_who_asks_not_to_be_tracked_is_not_counted(
    redis_client: redis.Redis, ingest: Intake, blog: sites.Site, clock: Clock
) -> None:
    private = Sender("203.0.113.9", CHROME, "https://example.com", opted_out=True)
    assert accept(ingest, view(), private, clock.now) == (intake.PRIVATE, None)
    assert accept(ingest, view(dnt=True), BROWSER, clock.now)[0] == intake.PRIVATE
    assert figures(redis_client, blog, clock)["totals"]["views"] == 0


def test_a_bot_is_counted_apart(
    redis_client: redis.Redis, ingest: Intake, blog: sites.Site, clock: Clock
) -> None:
    crawler = Sender("203.0.113.9", "Googlebot/2.1 (+http://www.google.com/bot.html)", None, False)
    assert accept(ingest, view(), crawler, clock.now)[0] == intake.BOT
    assert figures(redis_client, blog, clock)["totals"] == {"views": 0, "visitors": 0, "bots": 1}


def test_a_page_of_another_domain_or_an_unknown_site_is_refused(
    ingest: Intake, blog: sites.Site, clock: Clock
) -> None:
    with pytest.raises(RefusedEventError):
        accept(ingest, {"site": "blog", "url": "https://elsewhere.org/"}, BROWSER, clock.now)
    with pytest.raises(sites.UnknownSiteError):
        accept(ingest, view() | {"site": "nosuchsite"}, BROWSER, clock.now)


def test_views_past_the_budget_are_refused_and_not_counted(
    redis_client: redis.Redis, ingest: Intake, blog: sites.Site, clock: Clock
) -> None:
    budget = Budget("page views", 2, 60)
    for _ in range(2):
        assert accept(ingest, view(), BROWSER, clock.now, budget)[0] == intake.COUNTED
    with pytest.raises(OverBudgetError):
        accept(ingest, view(), BROWSER, clock.now, budget)
    assert figures(redis_client, blog, clock)["totals"]["views"] == 2


def test_a_batch_sent_again_with_its_idempotency_key_counts_once(
    redis_client: redis.Redis, ingest: Intake, blog: sites.Site, clock: Clock
) -> None:
    events: list[Any] = [view("/a"), view("/b"), {"site": "blog"}]

    def answer(outcomes: intake.Outcomes) -> str:
        return ",".join("ok" if outcome is None else "bad" for outcome in outcomes)

    first = intake.count_batch(ingest, ADMIN, events, clock.now, answer, "key-1")
    again = intake.count_batch(ingest, ADMIN, events, clock.now, answer, "key-1")
    assert first == intake.Counted("ok,ok,bad", 2)
    assert again == intake.Counted("ok,ok,bad", 0, replayed=True)
    assert figures(redis_client, blog, clock)["totals"]["views"] == 2
