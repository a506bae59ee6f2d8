"""Liveness and readiness probes for orchestrators and load balancers."""

from typing import Any

from flask import Blueprint, current_app

from page_tracker.extensions import current_runtime
from page_tracker.services import health
from page_tracker.store.connection import UNAVAILABLE
from page_tracker.web.errors import unavailable_headers

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> dict[str, Any]:
    """Answer 200 while the process can serve requests."""
    return {"status": "ok"}


@bp.get("/readyz")
def readyz() -> tuple[dict[str, Any], int, dict[str, str]]:
    """Answer 200 when Redis answers, "degraded" if counting lags; else 503 with what failed.

    A lag is the whole service's, not this node's: taking the node out would not help, so a
    degraded node stays ready.
    """
    runtime = current_runtime()
    try:
        health.check_redis(runtime.redis)
        waiting = health.backlog(runtime.redis, runtime.now)
    except UNAVAILABLE as error:
        current_app.logger.warning("Readiness check failed: %s", error)
        failed = {"status": "unavailable", "checks": {"redis": f"{type(error).__name__}: {error}"}}
        return failed, 503, unavailable_headers()
    limit = current_app.config["INBOX_LAG_LIMIT_S"]
    if waiting.lag_s > limit:
        lagging = (
            f"the oldest of {waiting.waiting} views waiting to be counted came in "
            f"{waiting.lag_s:.0f} s ago, more than the limit of {limit} s"
        )
        return {"status": "degraded", "checks": {"redis": "ok", "inbox": lagging}}, 200, {}
    return {"status": "ready", "checks": {"redis": "ok", "inbox": "ok"}}, 200, {}
