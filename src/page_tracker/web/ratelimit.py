"""A per-IP limit on hits and creations, counted in Redis so every worker shares it."""

from typing import Any, cast

from flask import Flask
from flask_limiter import HeaderNames, Limiter
from flask_limiter.util import get_remote_address

LIMITED = ("counters.hit", "counters.create", "counters.create_named", "badges.badge")


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
    timeout = app.config["REDIS_TIMEOUT"]
    limiter = Limiter(
        get_remote_address,
        app=app,
        storage_uri=app.config["RATE_LIMIT_STORAGE"] or _storage_uri(app.config["REDIS_URL"]),
        storage_options={"socket_timeout": timeout, "socket_connect_timeout": timeout},
        strategy="moving-window",
        headers_enabled=True,
        header_name_mapping={
            HeaderNames.LIMIT: "RateLimit-Limit",
            HeaderNames.REMAINING: "RateLimit-Remaining",
            HeaderNames.RESET: "RateLimit-Reset",
            HeaderNames.RETRY_AFTER: "Retry-After",
        },
        retry_after="delta-seconds",
        # If Redis is down the limiter lets requests through; the endpoint then answers 503.
        swallow_errors=True,
        key_prefix="pt:ratelimit",
    )
    # One budget per IP shared by every endpoint that writes.
    shared = limiter.shared_limit(rate, scope="writes")
    for endpoint in LIMITED:
        app.view_functions[endpoint] = cast(Any, shared(app.view_functions[endpoint]))
