"""Per-client budgets of requests, counted in Redis so that every worker and node shares them.

Three budgets, each set on its own and turned off by an empty setting:
- writes (RATE_LIMIT): hits, badges and creations, per client and namespace;
- views (VIEW_RATE_LIMIT): beacons and pixels, per client and site;
- failures (AUTH_FAILURE_LIMIT): tokens and admin keys that did not work, per client.

A hit and a page view spend their budget inside their own script, so that a budgeted request
is still one round trip to Redis; a creation and a failed token spend it on their own.  That
is also why writes and views are budgets per namespace: a script touches one slot of a Redis
Cluster, and a namespace's keys share one.  Budgets are spent by the generic cell rate
algorithm (store/budgets.py): one small key per client, however busy, not a list of times.
"""

import contextlib
from collections.abc import Mapping
from typing import Any

from limits import parse
from werkzeug.exceptions import TooManyRequests
from werkzeug.wrappers import Response as BaseResponse

from page_tracker.extensions import Runtime
from page_tracker.metrics import Unmeasured
from page_tracker.services import budgets
from page_tracker.services.budgets import OverBudgetError
from page_tracker.store.budgets import Budget, Charge, Spent
from page_tracker.web.answers import json_error

WRITES, VIEWS, FAILURES = "writes", "views", "failures"
SETTINGS = {WRITES: "RATE_LIMIT", VIEWS: "VIEW_RATE_LIMIT", FAILURES: "AUTH_FAILURE_LIMIT"}
# What each budget counts, in the metrics and in a refusal's message.
LABELS = {WRITES: "writes", VIEWS: "page views", FAILURES: "failed tokens"}


def configured(config: Mapping[str, Any]) -> dict[str, Budget]:
    """Return each budget whose setting (in the `limits` notation, such as 600/minute) is set."""
    found = {}
    for scope, setting in SETTINGS.items():
        if rate := config[setting]:
            item = parse(rate)
            found[scope] = Budget(scope, item.amount, item.get_expiry())
    return found


def charge(runtime: Runtime, scope: str, ip: str, namespace: str | None = None) -> Charge | None:
    """Return what a request from `ip` spends of the budget `scope`; None if it is off."""
    budget = runtime.budgets.get(scope)
    if budget is None:
        return None
    return budgets.charge(runtime.redis, budget, ip, runtime.now, runtime.secrets, namespace)


def spend(runtime: Runtime, scope: str, ip: str, namespace: str | None = None) -> Spent | None:
    """Spend one request of `ip`'s budget `scope`; raise OverBudgetError past it."""
    found = charge(runtime, scope, ip, namespace)
    return None if found is None else budgets.spend(runtime.redis, found)


def with_headers(response: BaseResponse, spent: Spent | None) -> BaseResponse:
    """Return `response` with the RateLimit-* headers of what it spent, if it spent any."""
    if spent is not None:
        response.headers.update(_headers(spent))
    return response


def headers(spent: Spent | None) -> list[tuple[str, str]]:
    """Return the RateLimit-* headers of what a request spent (none if it spent nothing)."""
    return [] if spent is None else list(_headers(spent).items())


def _seconds(ms: int) -> str:
    """Return `ms` as the whole seconds, at least 1, that RateLimit-* and Retry-After want."""
    return str(max(1, -(-ms // 1000)))


def _headers(spent: Spent) -> dict[str, str]:
    return {
        "RateLimit-Limit": str(spent.limit),
        "RateLimit-Remaining": str(spent.remaining),
        "RateLimit-Reset": _seconds(spent.reset_ms),
    }


def refusal(error: OverBudgetError, metrics: Unmeasured) -> BaseResponse:
    """Return the 429 that answers a request over its budget, and count it."""
    metrics.rate_limited(LABELS[error.scope])
    retry = _seconds(error.spent.retry_ms)
    response = json_error(
        429, f"too many {LABELS[error.scope]} from this address; retry in {retry} s"
    )
    response.headers.update(_headers(error.spent))
    response.headers["Retry-After"] = retry
    return response


def check_failures(runtime: Runtime, ip: str) -> None:
    """Stop with a 429 if `ip` has sent too many tokens that did not work."""
    found = charge(runtime, FAILURES, ip)
    if found is not None and budgets.exhausted(runtime.redis, found) is not None:
        runtime.metrics.rate_limited(LABELS[FAILURES])
        raise TooManyRequests("too many tokens that did not work came from this address; wait")


def note_failure(runtime: Runtime, ip: str) -> None:
    """Count a token that did not work against `ip`'s budget of failures."""
    with contextlib.suppress(OverBudgetError):  # the next try is refused by check_failures
        spend(runtime, FAILURES, ip)
