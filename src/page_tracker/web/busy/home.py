"""The seed page: it counts its own views, and apologises in plain text when it cannot."""

from collections.abc import Mapping

from redis import RedisError
from werkzeug.wrappers import Request
from werkzeug.wrappers import Response as BaseResponse

from page_tracker.extensions import Runtime
from page_tracker.services.views import home_view
from page_tracker.web.errors import ApologyError

TEXT = "text/plain; charset=utf-8"


async def answer_home(runtime: Runtime, incoming: Request, _: Mapping[str, str]) -> BaseResponse:
    """Count this view and say how many there have been (served by fast.py)."""
    try:
        views = await runtime.calls.run(home_view())
    except RedisError as error:
        raise ApologyError("Redis error on the home page") from error
    return BaseResponse(f"This page has been seen {views} times.", content_type=TEXT)
