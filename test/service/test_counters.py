"""Counters in the users' words: count hits, create, change with the admin key, read figures."""

from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import redis

from page_tracker.services import counter_figures, counters
from page_tracker.services.budgets import OverBudgetError, charge
from page_tracker.services.counters import INT64_MAX, Policy
from page_tracker.store import calls
from page_tracker.store.budgets import Budget, Spent
from page_tracker.store.calls import Blocking, finish
from test.clock import Clock


def hit(redis_client: redis.Redis, *args: Any, **options: Any) -> tuple[int, Spent | None]:
    """Count a hit as the busy endpoints do, with the blocking client."""
    return finish(counters.hit(Blocking(redis_client), *args, **options))


def test_a_hit_counts_and_creates_the_counter_on_its_first(
    redis_client: redis.Redis, policy: Policy, clock: Clock
) -> None:
    assert hit(redis_client, policy, "site.one", "home", clock.now, "v1") == (1, None)
    assert hit(redis_client, policy, "site.one", "home", clock.now, "v2")[0] == 2
    assert counters.read(redis_client, "site.one", "home").value == 2


def test_a_counter_is_created_once_with_an_admin_key_that_changes_it(
    redis_client: redis.Redis, policy: Policy, clock: Clock
) -> None:
    admin_key = counters.create(redis_client, policy, "site.one", "made", 10, clock.now)
    with pytest.raises(counters.ExistsError):
        counters.create(redis_client, policy, "site.one", "made", 0, clock.now)
    with pytest.raises(counters.WrongAdminKeyError):
        counters.change(redis_client, policy, "site.one", "made", "nope", "set", 5, clock.now)
    changed = counters.change(
        redis_client, policy, "site.one", "made", admin_key, "add", 5, clock.now
    )
    assert changed == (10, 15)


def test_a_counter_made_by_a_hit_has_no_admin_key_but_the_server_admin_changes_it(
    redis_client: redis.Redis, policy: Policy, clock: Clock
) -> None:
    hit(redis_client, policy, "site.one", "home", clock.now, "v1")
    with pytest.raises(counters.NoAdminKeyError):
        counters.change(redis_client, policy, "site.one", "home", "any", "set", 9, clock.now)
    owned = counters.change(
        redis_client, policy, "site.one", "home", None, "delete", 0, clock.now, owner=True
    )
    assert owned == (1, 0)
    with pytest.raises(counters.NotFoundError):
        counters.read(redis_client, "site.one", "home")


def test_nothing_grows_past_a_signed_64_bit_value(
    redis_client: redis.Redis, policy: Policy, clock: Clock
) -> None:
    admin_key = counters.create(redis_client, policy, "site.one", "big", INT64_MAX, clock.now)
    with pytest.raises(counters.ValueOverflowError):
        hit(redis_client, policy, "site.one", "big", clock.now, "v1")
    with pytest.raises(counters.ValueOverflowError):
        counters.change(redis_client, policy, "site.one", "big", admin_key, "add", 1, clock.now)
    assert counters.read(redis_client, "site.one", "big").value == INT64_MAX


def test_a_hit_past_the_budget_counts_nothing(
    redis_client: redis.Redis, policy: Policy, clock: Clock
) -> None:
    budget = Budget("writes", 2, 60)
    known: dict[date, bytes] = {}
    for visitor in ("v1", "v2"):
        spent = hit(
            redis_client, policy, "site.one", "home", clock.now, visitor,
            charge(redis_client, budget, "203.0.113.9", clock.now, known, "site.one"),
        )[1]  # fmt: skip
        assert spent is not None
        assert spent.allowed
    with pytest.raises(OverBudgetError):
        hit(
            redis_client, policy, "site.one", "home", clock.now, "v3",
            charge(redis_client, budget, "203.0.113.9", clock.now, known, "site.one"),
        )  # fmt: skip
    assert counters.read(redis_client, "site.one", "home").value == 2


@pytest.mark.dates
def test_history_counts_hits_and_visitors_by_day_in_any_zone(
    redis_client: redis.Redis, policy: Policy, clock: Clock
) -> None:
    yesterday = clock.now - timedelta(days=1)
    for when, visitor in ((yesterday, "v1"), (clock.now, "v1"), (clock.now, "v2")):
        hit(redis_client, policy, "site.one", "home", when, visitor)
    days = counter_figures.history(
        redis_client, policy, "site.one", "home", 2, ZoneInfo("UTC"), clock.now
    )
    assert [(day["hits"], day["unique"]) for day in days] == [(1, 1), (2, 2)]
    assert (
        calls.run(redis_client, counter_figures.figure("site.one", "home", "today", clock.now)) == 2
    )
    assert (
        calls.run(redis_client, counter_figures.figure("site.one", "home", "unique", clock.now))
        == 2
    )
    assert (
        calls.run(redis_client, counter_figures.figure("site.one", "home", "total", clock.now)) == 3
    )


def test_server_totals_are_worked_out_once_a_minute(
    redis_client: redis.Redis, policy: Policy, clock: Clock
) -> None:
    for namespace, key in (("site.one", "a"), ("site.one", "b"), ("site.two", "a")):
        hit(redis_client, policy, namespace, key, clock.now, "v1")
    assert counter_figures.server_totals(redis_client) == {
        "counters": 3,
        "namespaces": 2,
        "hits": 3,
    }
    hit(redis_client, policy, "site.two", "b", clock.now, "v1")
    assert counter_figures.server_totals(redis_client)["counters"] == 3  # kept for a minute
