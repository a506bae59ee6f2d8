"""Clients' request budgets in Redis, spent by the generic cell rate algorithm (spend.lua).

A budget is spent in the same script as the request it pays for where there is one (a hit,
a queued page view), so a budgeted request is still one round trip; else by budget.lua.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from redis import Redis

from page_tracker.store import keys, scripts


@dataclass(frozen=True)
class Budget:
    """`amount` requests per `period_s` seconds, all of which may come at once."""

    scope: str
    amount: int
    period_s: int

    def arguments(self) -> list[int]:
        """Return the spend function's interval (ms) and burst."""
        return [max(1, self.period_s * 1000 // self.amount), self.amount]


@dataclass(frozen=True)
class Charge:
    """A budget and the client who spends it, in a namespace's slot or in one of its own."""

    budget: Budget
    client: str
    namespace: str | None = None

    def key(self) -> str:
        """Return the key that holds the client's budget."""
        return keys.budget(self.budget.scope, self.client, self.namespace)


@dataclass(frozen=True)
class Spent:
    """What spending told: allowed or not, the budget, what is left, ms until full and allowed."""

    allowed: bool
    limit: int
    remaining: int
    reset_ms: int
    retry_ms: int


def spent(reply: Sequence[Any], charge: Charge | None) -> Spent | None:
    """Return the Spent of a spending script's reply; None if the request had no budget."""
    if charge is None:
        return None
    allowed, remaining, reset_ms, retry_ms = (int(value) for value in reply[:4])
    return Spent(allowed == 1, charge.budget.amount, remaining, reset_ms, retry_ms)


def arguments(charge: Charge | None) -> tuple[list[str], list[int]]:
    """Return the keys and arguments a spending script takes for `charge` (none for None)."""
    if charge is None:
        return [], []
    return [charge.key()], charge.budget.arguments()


def spend(redis: Redis, charge: Charge, *, dry: bool = False) -> Spent:
    """Spend one request of `charge` (with `dry`, only say whether one is left)."""
    names, args = arguments(charge)
    found = spent(scripts.run(redis, "budget", names, [*args, int(dry)]), charge)
    return cast(Spent, found)  # not None: there is a charge
