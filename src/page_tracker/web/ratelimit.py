"""A per-IP limit on hits and creations, counted in Redis so every worker shares it.

Built on `limits` directly rather than a Flask extension, because the hot path (see
hotpath.py) answers hits without Flask and must spend the same budget.
"""

import functools
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, make_response, request
from limits import parse
from limits.errors import StorageError
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from page_tracker.web.answers import json_error

LIMITED = ("counters.hit", "counters.create", "counters.create_named", "badges.badge")
EXTENSION = "page_tracker.rate_limit"
# One budget per IP shared by every endpoint that writes.
SCOPE = "writes"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Verdict:
    """Whether a request may go on, and the RateLimit-* headers that tell the client so."""

    allowed: bool
    headers: dict[str, str]


class RateLimit:
    """`rate` (in the `limits` notation, such as 600/minute) per client IP, in a moving window."""

    def __init__(self, rate: str, storage_uri: str, timeout: float) -> None:
        self.item = parse(rate)
        options: dict[str, Any] = {"wrap_exceptions": True}
        if storage_uri.startswith("redis"):  # redis, rediss, redis+unix
            options |= {"key_prefix": "pt:ratelimit", "socket_timeout": timeout,
                        "socket_connect_timeout": timeout}  # fmt: skip
        self.limiter = MovingWindowRateLimiter(storage_from_string(storage_uri, **options))

    def take(self, ip: str) -> Verdict | None:
        """Spend one request of `ip`'s budget; None if the count is unreachable (let it pass).

        A Redis outage lets requests through here: the endpoint itself then answers 503.
        """
        try:
            allowed = self.limiter.hit(self.item, SCOPE, ip)
            stats = self.limiter.get_window_stats(self.item, SCOPE, ip)
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

    def spend(self, ip: str, answer: Callable[[], Response]) -> Response:
        """Spend one of `ip`'s budget: `answer()` with RateLimit-* headers, or else a 429."""
        verdict = self.take(ip)
        if verdict is None:
            return answer()
        if verdict.allowed:
            response = answer()
        else:
            retry = verdict.headers["Retry-After"]
            response = json_error(429, f"too many writes from this address; retry in {retry} s")
        response.headers.update(verdict.headers)
        return response


def _storage_uri(redis_url: str) -> str:
    # The `limits` library names a unix socket redis+unix://.
    if redis_url.startswith("unix://"):
        return "redis+unix://" + redis_url.removeprefix("unix://")
    return redis_url


def init_rate_limit(app: Flask) -> None:
    """Limit hits and creations per client IP to RATE_LIMIT; do nothing if it is empty."""
    rate = app.config["RATE_LIMIT"]
    if not rate:
        return
    storage = app.config["RATE_LIMIT_STORAGE"] or _storage_uri(app.config["REDIS_URL"])
    limit = app.extensions[EXTENSION] = RateLimit(rate, storage, app.config["REDIS_TIMEOUT"])
    for endpoint in LIMITED:
        app.view_functions[endpoint] = _limited(limit, app.view_functions[endpoint])


def _limited(limit: RateLimit, view: Callable[..., Any]) -> Callable[..., Response]:
    @functools.wraps(view)
    def limited(*args: Any, **kwargs: Any) -> Response:
        return limit.spend(request.remote_addr or "", lambda: make_response(view(*args, **kwargs)))

    return limited
