"""The seed page: it counts its own views, and apologises in plain text when it cannot."""

from collections.abc import Mapping

from redis import RedisError

from page_tracker.extensions import Runtime
from page_tracker.services.views import home_view
from page_tracker.web.answers import Reply, reply
from page_tracker.web.busy.incoming import Incoming
from page_tracker.web.errors import ApologyError

TEXT = "text/plain; charset=utf-8"


async def answer_home(runtime: Runtime, _: Incoming, __: Mapping[str, str]) -> Reply:
    """Count this view and say how many there have been (served by fast.py)."""
    try:
        views = await runtime.calls.run(home_view())
    except RedisError as error:
        raise ApologyError("Redis error on the home page") from error
    return reply(200, TEXT, f"This page has been seen {views} times.".encode())
