"""Clients' budgets of requests: whose budget a request spends, and the refusal past it.

A client is known by a keyed hash of its address (today's visitor secret): no address is
stored.  Hits and page views spend their budget inside their own script (store/budgets.py).
"""

from datetime import date, datetime

from redis import Redis

from page_tracker.services.visitors import client_id
from page_tracker.store import budgets as store
from page_tracker.store.budgets import Budget, Charge, Spent


class OverBudgetError(Exception):
    """The client has spent its budget; `spent` says when it may try again."""

    def __init__(self, scope: str, spent: Spent) -> None:
        super().__init__(f"too many {scope} from this address")
        self.scope = scope
        self.spent = spent


def charge(
    redis: Redis,
    budget: Budget,
    ip: str,
    now: datetime,
    known: dict[date, bytes],
    namespace: str | None = None,
) -> Charge:
    """Return what a request from `ip` spends of `budget` (in `namespace`'s slot, if given)."""
    return Charge(budget, client_id(redis, now, ip, known), namespace)


def paid(charge: Charge | None, spent: Spent | None) -> Spent | None:
    """Return `spent`, or raise OverBudgetError if it says the request was refused."""
    if charge is not None and spent is not None and not spent.allowed:
        raise OverBudgetError(charge.budget.scope, spent)
    return spent


def spend(redis: Redis, charge: Charge) -> Spent:
    """Spend one request of `charge`; raise OverBudgetError if none is left."""
    spent = store.spend(redis, charge)
    paid(charge, spent)
    return spent


def exhausted(redis: Redis, charge: Charge) -> Spent | None:
    """Return what `charge` would be told if it has nothing left (None if it has), unspent."""
    spent = store.spend(redis, charge, dry=True)
    return None if spent.allowed else spent
