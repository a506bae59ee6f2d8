"""The reference: the seed tutorial's page counter, handler for handler, to measure against."""

import os
from functools import cache

from flask import Flask
from redis import Redis, RedisError

app = Flask(__name__)


@cache
def redis() -> Redis:
    """Return one lazily built client, as the seed does."""
    return Redis.from_url(os.getenv("REDIS_URL", "redis://localhost:6379"))


@app.get("/")
def index() -> str | tuple[str, int]:
    """Count the view with a single INCR, as the seed does."""
    try:
        page_views = redis().incr("page_views")
    except RedisError:
        app.logger.exception("Redis error")
        return "Sorry, something went wrong \N{PENSIVE FACE}", 500
    return f"This page has been seen {page_views} times."
