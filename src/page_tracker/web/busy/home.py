"""The seed page: it counts its own views."""

from flask import Blueprint, current_app
from redis import RedisError

from page_tracker.extensions import redis_client
from page_tracker.services.views import record_home_view
from page_tracker.store.connection import UNAVAILABLE
from page_tracker.web.errors import unavailable_headers

bp = Blueprint("home", __name__)

APOLOGY = "Sorry, something went wrong \N{PENSIVE FACE}"
TEXT = {"Content-Type": "text/plain; charset=utf-8"}


@bp.get("/")
def index() -> tuple[str, dict[str, str]]:
    """Count this view and say how many there have been."""
    views = record_home_view(redis_client())
    return f"This page has been seen {views} times.", TEXT


@bp.errorhandler(RedisError)
def redis_error(error: RedisError) -> tuple[str, int, dict[str, str]]:
    """Apologise in plain text, as the seed page does: 503 for an outage, 500 otherwise."""
    current_app.logger.exception("Redis error on the home page")
    if isinstance(error, UNAVAILABLE):
        return APOLOGY, 503, TEXT | unavailable_headers()
    return APOLOGY, 500, TEXT
