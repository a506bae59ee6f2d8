"""Per-IP budgets, counted in Redis so every worker and node shares them.

Three budgets, each set on its own and turned off by an empty setting:
- writes (RATE_LIMIT): hits, badges and creations;
- views (VIEW_RATE_LIMIT): beacons and pixels, which pages send for their visitors;
- failures (AUTH_FAILURE_LIMIT): tokens and admin keys that did not work, so that nobody can
  guess them at speed.

Built on `limits` directly rather than a Flask extension, because the fast app (see fast.py)
answers hits and beacons without Flask and must spend the same budgets.  Which endpoint spends
which budget is declared in endpoints.py.
"""

import functools
import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app, make_response, request
from limits import parse
from limits.errors import StorageError
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from werkzeug.wrappers import Response as BaseResponse

from page_tracker.metrics import Unmeasured
from page_tracker.web.answers import json_error

WRITES = "page_tracker.rate_limit.writes"
VIEWS = "page_tracker.rate_limit.views"
FAILURES = "page_tracker.rate_limit.failures"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Verdict:
    """Whether a request may go on, and the RateLimit-* headers that tell the client so."""

    allowed: bool
    headers: dict[str, str]


class RateLimit:
    """`rate` (in the `limits` notation, such as 600/minute) per client IP, in a moving window."""

    def __init__(
        self, rate: str, limiter: MovingWindowRateLimiter, scope: str, metrics: Unmeasured
    ) -> None:
        self.item = parse(rate)
        self.limiter = limiter
        self.scope = scope
        self.metrics = metrics

    def take(self, ip: str) -> Verdict | None:
        """Spend one of `ip`'s budget; None if the count is unreachable (let it pass).

        A Redis outage lets requests through here: the endpoint itself then answers 503.
        """
        try:
            allowed = self.limiter.hit(self.item, self.scope, ip)
            stats = self.limiter.get_window_stats(self.item, self.scope, ip)
        except StorageError as error:
            log.warning("rate limit not checked: %s", error)
            return None
        # Delta seconds, as the RateLimit header draft and Retry-After both want.
        reset = str(max(1, math.ceil(stats.reset_time - time.time())))
        headers = {
            "RateLimit-Limit": str(self.item.amount),
            "RateLimit-Remaining": str(stats.remaining),
            "RateLimit-Reset": reset,
        }
        if not allowed:
            headers["Retry-After"] = reset
        return Verdict(allowed, headers)

    def spend(self, ip: str, answer: Callable[[], BaseResponse]) -> BaseResponse:
        """Spend one of `ip`'s budget: `answer()` with RateLimit-* headers, or else a 429."""
        verdict = self.take(ip)
        if verdict is None:
            return answer()
        if verdict.allowed:
            response = answer()
        else:
            self.metrics.rate_limited(self.scope)
            retry = verdict.headers["Retry-After"]
            response = json_error(
                429, f"too many {self.scope} from this address; retry in {retry} s"
            )
        response.headers.update(verdict.headers)
        return response

    def exhausted(self, ip: str) -> bool:
        """Say whether `ip` has spent its budget, without spending any."""
        try:
            exhausted = not self.limiter.test(self.item, self.scope, ip)
        except StorageError as error:
            log.warning("rate limit not checked: %s", error)
            return False
        if exhausted:
            self.metrics.rate_limited(self.scope)
        return exhausted


def _storage_uri(redis_url: str) -> str:
    # The `limits` library names a unix socket redis+unix://.
    if redis_url.startswith("unix://"):
        return "redis+unix://" + redis_url.removeprefix("unix://")
    return redis_url


def init_rate_limit(app: Flask, budgets: Mapping[str, str], metrics: Unmeasured) -> None:
    """Set up each budget whose setting is not empty; guard the Flask views `budgets` name."""
    rates = {
        WRITES: (app.config["RATE_LIMIT"], "writes"),
        VIEWS: (app.config["VIEW_RATE_LIMIT"], "page views"),
        FAILURES: (app.config["AUTH_FAILURE_LIMIT"], "failed tokens"),
    }
    if not any(rate for rate, _ in rates.values()):
        return
    storage_uri = app.config["RATE_LIMIT_STORAGE"] or _storage_uri(app.config["REDIS_URL"])
    options: dict[str, Any] = {"wrap_exceptions": True}
    if storage_uri.startswith("redis"):  # redis, rediss, redis+unix
        timeout = app.config["REDIS_TIMEOUT"]
        options |= {
            "key_prefix": "pt:ratelimit",
            "socket_timeout": timeout,
            "socket_connect_timeout": timeout,
        }
    limiter = MovingWindowRateLimiter(storage_from_string(storage_uri, **options))
    for extension, (rate, scope) in rates.items():
        if not rate:
            continue
        limit = app.extensions[extension] = RateLimit(rate, limiter, scope, metrics)
        for endpoint, budget in budgets.items():
            if budget == extension and endpoint in app.view_functions:
                app.view_functions[endpoint] = _limited(limit, app.view_functions[endpoint])


def _limited(limit: RateLimit, view: Callable[..., Any]) -> Callable[..., BaseResponse]:
    @functools.wraps(view)
    def limited(*args: Any, **kwargs: Any) -> BaseResponse:
        return limit.spend(request.remote_addr or "", lambda: make_response(view(*args, **kwargs)))

    return limited


def failures() -> RateLimit | None:
    """Return the current app's budget of failed tokens, if it has one."""
    limit: RateLimit | None = current_app.extensions.get(FAILURES)
    return limit
