"""Liveness and readiness probes for orchestrators and load balancers."""

from typing import Any

from flask import Blueprint, current_app

from page_tracker.extensions import redis_client
from page_tracker.services.health import check_redis
from page_tracker.store.connection import UNAVAILABLE
from page_tracker.web.errors import unavailable_headers

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> dict[str, Any]:
    """Answer 200 while the process can serve requests."""
    return {"status": "ok"}


@bp.get("/readyz")
def readyz() -> tuple[dict[str, Any], int, dict[str, str]]:
    """Answer 200 when Redis answers PING, else 503 with what failed."""
    try:
        check_redis(redis_client())
    except UNAVAILABLE as error:
        current_app.logger.warning("Readiness check failed: %s", error)
        failed = {"status": "unavailable", "checks": {"redis": f"{type(error).__name__}: {error}"}}
        return failed, 503, unavailable_headers()
    return {"status": "ready", "checks": {"redis": "ok"}}, 200, {}
