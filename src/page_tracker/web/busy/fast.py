"""The busiest requests, served by a small WSGI app without Flask: hits, badges and beacons.

Every view of every page that counts sends one of these.  Flask's request and app contexts,
session, signals and hooks cost more CPU than all of a hit's bookkeeping, so these endpoints
live here only, in every shape (JSONP, HEAD, OPTIONS, the one-segment forms), with their own
werkzeug routing table.  A request no rule here matches goes on to Flask.  CORS comes from
endpoints.ENDPOINTS and errors from errors.answer, as for Flask's views.
"""

import functools
import logging
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Any

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request
from werkzeug.wrappers import Response as BaseResponse

from page_tracker.extensions import METRICS, Runtime, current_runtime
from page_tracker.web import params
from page_tracker.web.busy import badges, counters, tracking
from page_tracker.web.endpoints import EndpointTableError, cors_headers
from page_tracker.web.errors import answer, http_error
from page_tracker.web.serving.observed import ROUTE

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
Handler = Callable[[Runtime, Request, Mapping[str, str]], BaseResponse]
DEFAULT = {"namespace": params.DEFAULT_NAMESPACE}

RULES = Map(
    [
        Rule("/hit/<namespace>/<key>", endpoint="counters.hit", methods=["GET", "POST"]),
        Rule("/hit/<key>", endpoint="counters.hit", methods=["GET", "POST"], defaults=DEFAULT),
        Rule("/badge/<namespace>/<key>.svg", endpoint="badges.badge", methods=["GET"]),
        Rule("/badge/<key>.svg", endpoint="badges.badge", methods=["GET"], defaults=DEFAULT),
        Rule("/api/event", endpoint="tracking.event", methods=["POST"]),
    ],
    # /hit/default/x and /hit/x name the same counter: answer both rather than redirect.
    redirect_defaults=False,
)
# The static start of every rule: any other path goes to Flask without being matched.
PREFIXES = tuple({rule.rule.split("<", 1)[0] for rule in RULES.iter_rules()})
# Paths longer than this are matched anew each time rather than remembered: no hostile stream
# of long paths can grow the cache's memory past MATCHED x MAX_REMEMBERED.
MATCHED, MAX_REMEMBERED = 4096, 256
HANDLERS: dict[str, Handler] = {
    "counters.hit": counters.answer_hit,
    "badges.badge": badges.answer_badge,
    "tracking.event": tracking.answer_event,
}
# A rule without a handler would fail at its first request: fail at start-up instead.
if unhandled := {rule.endpoint for rule in RULES.iter_rules()} - HANDLERS.keys():
    raise EndpointTableError(f"fast rules without a handler: {sorted(unhandled)}")


class FastApp:
    """WSGI app that serves the endpoints of RULES and passes every other request on."""

    def __init__(
        self, extensions: dict[str, Any], log: logging.Logger, retry_after: int, fallback: WSGIApp
    ) -> None:
        self.extensions = extensions
        self.log = log
        self.retry_after = retry_after
        self.fallback = fallback
        # Matching needs no server name: one adapter serves every request, in every thread.
        self.routes = RULES.bind("localhost")
        # Every view of a page sends the same few paths: each is matched once.
        self._remembered = functools.lru_cache(maxsize=MATCHED)(self._match)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        """Answer a request of RULES; pass any other to the fallback."""
        method, path = environ["REQUEST_METHOD"], environ["PATH_INFO"]
        if not path.startswith(PREFIXES):
            return self.fallback(environ, start_response)
        match = self._remembered if len(path) <= MAX_REMEMBERED else self._match
        try:
            endpoint, route, args = match(path, method)
            environ[ROUTE] = route
            response = self._answer(endpoint, args, environ)
        except NotFound:
            return self.fallback(environ, start_response)
        except MethodNotAllowed as refused:
            valid = list(refused.valid_methods or ["GET"])
            allowed = sorted({*valid, "OPTIONS"})
            endpoint, route, _ = self._match(path, valid[0])
            environ[ROUTE] = route
            response = (
                BaseResponse(headers={"Allow": ", ".join(allowed)})
                if method == "OPTIONS"
                else http_error(refused)
            )
        response.headers.update(cors_headers(endpoint, method))
        # Every answer here is a body built in memory with its Content-Length set: it is sent
        # as it is, without werkzeug's WSGI adapter (redirects, ranges, streaming), which costs
        # more than drawing a badge.
        start_response(response.status, response.headers.to_wsgi_list())
        return [] if method == "HEAD" else [response.get_data()]

    def _match(self, path: str, method: str) -> tuple[str, str, Mapping[str, str]]:
        """Return the endpoint of `path`, its rule, and its arguments (shared: only read them)."""
        rule, args = self.routes.match(path, method, return_rule=True)
        return rule.endpoint, rule.rule, MappingProxyType(args)

    def _answer(
        self, endpoint: str, args: Mapping[str, str], environ: dict[str, Any]
    ) -> BaseResponse:
        """Return the endpoint's answer (it spends its own budget); errors as errors.answer."""
        try:
            return HANDLERS[endpoint](current_runtime(self.extensions), Request(environ), args)
        except Exception as error:
            return answer(error, self.log, self.retry_after, self.extensions[METRICS])
