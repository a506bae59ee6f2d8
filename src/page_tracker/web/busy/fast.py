"""The busiest requests, answered without Flask: the seed page, hits, badges and beacons.

Every view of every page that counts sends one of these.  Flask's request and app contexts,
session, signals and hooks cost more CPU than all of a hit's bookkeeping, so these endpoints
live here only, in every shape (JSONP, HEAD, OPTIONS, the one-segment forms), with their own
werkzeug routing table.  A request no rule here matches goes on to Flask.  CORS comes from
endpoints.ENDPOINTS and errors from errors.answer, as for Flask's views.
"""

import functools
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Response as BaseResponse

from page_tracker.extensions import Runtime, current_runtime
from page_tracker.store.calls import finish
from page_tracker.web import errors, params
from page_tracker.web.answers import Reply
from page_tracker.web.busy import badges, counters, home, tracking
from page_tracker.web.busy.incoming import Incoming
from page_tracker.web.endpoints import ROUTE, EndpointTableError, cors_headers

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
Handler = Callable[[Runtime, Incoming, Mapping[str, str]], Awaitable[Reply]]
DEFAULT = {"namespace": params.DEFAULT_NAMESPACE}

RULES = Map(
    [
        Rule("/", endpoint="home.index", methods=["GET"]),
        Rule("/hit/<namespace>/<key>", endpoint="counters.hit", methods=["GET", "POST"]),
        Rule("/hit/<key>", endpoint="counters.hit", methods=["GET", "POST"], defaults=DEFAULT),
        Rule("/badge/<namespace>/<key>.svg", endpoint="badges.badge", methods=["GET"]),
        Rule("/badge/<key>.svg", endpoint="badges.badge", methods=["GET"], defaults=DEFAULT),
        Rule("/api/event", endpoint="tracking.event", methods=["POST"]),
        Rule("/p.gif", endpoint="tracking.pixel", methods=["GET"]),
    ],
    # /hit/default/x and /hit/x name the same counter: answer both rather than redirect.
    redirect_defaults=False,
)
# The paths of rules without arguments, and the static start of every other: any other path
# goes to Flask without being matched.
EXACT = frozenset(rule.rule for rule in RULES.iter_rules() if "<" not in rule.rule)
PREFIXES = tuple({rule.rule.split("<", 1)[0] for rule in RULES.iter_rules() if "<" in rule.rule})
# Paths longer than this are matched anew each time rather than remembered: no hostile stream
# of long paths can grow the cache's memory past MATCHED x MAX_REMEMBERED.
MATCHED, MAX_REMEMBERED = 4096, 256
HANDLERS: dict[str, Handler] = {
    "home.index": home.answer_home,
    "counters.hit": counters.answer_hit,
    "badges.badge": badges.answer_badge,
    "tracking.event": tracking.answer_event,
    "tracking.pixel": tracking.answer_pixel,
}
# A rule without a handler would fail at its first request: fail at start-up instead.
if unhandled := {rule.endpoint for rule in RULES.iter_rules()} - HANDLERS.keys():
    raise EndpointTableError(f"fast rules without a handler: {sorted(unhandled)}")


class Found(NamedTuple):
    """A request the fast app answers: its endpoint, its arguments, or the methods it allows."""

    endpoint: str
    args: Mapping[str, str]
    valid: list[str] | None = None  # the path's methods, when the request's is not one


class FastApp:
    """Answers the endpoints of RULES, on the event loop or as WSGI; passes every other on.

    `serve` awaits an answer on the loop, with the loop's Redis client; called as WSGI, it
    answers with the blocking one, and every other request goes to the fallback.
    """

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
        """Answer a request of RULES with the blocking client; pass any other to the fallback."""
        found = self.find(environ)
        if found is None:
            return self.fallback(environ, start_response)
        answer = finish(self.answer(found, environ, current_runtime(self.extensions)))
        start_response(answer.status_line, answer.headers)
        return [] if environ["REQUEST_METHOD"] == "HEAD" else [answer.body]

    def find(self, environ: dict[str, Any]) -> Found | None:
        """Return what the fast app answers of this request, None if not for it.

        Leave the rule's template in the environ, for the metrics and the access line.
        """
        method, path = environ["REQUEST_METHOD"], environ["PATH_INFO"]
        if path not in EXACT and not path.startswith(PREFIXES):
            return None
        match = self._remembered if len(path) <= MAX_REMEMBERED else self._match
        try:
            endpoint, route, args = match(path, method)
        except NotFound:
            return None
        except MethodNotAllowed as refused:
            valid = list(refused.valid_methods or ["GET"])
            endpoint, route, args = self._match(path, valid[0])
            environ[ROUTE] = route
            return Found(endpoint, args, valid)
        environ[ROUTE] = route
        return Found(endpoint, args)

    async def answer(self, found: Found, environ: dict[str, Any], runtime: Runtime) -> Reply:
        """Return the answer to a request `find` found, made with `runtime`'s calls."""
        method = environ["REQUEST_METHOD"]
        if found.valid is None:
            try:
                answer = await HANDLERS[found.endpoint](runtime, Incoming(environ), found.args)
            except Exception as error:  # the handler spent its own budget
                failed = errors.answer(error, self.log, self.retry_after, runtime.metrics)
                answer = Reply.of(failed)
        else:  # OPTIONS is answered here too, as Flask answers it
            allowed = sorted({*found.valid, "OPTIONS"})
            answer = Reply.of(
                BaseResponse(headers={"Allow": ", ".join(allowed)})
                if method == "OPTIONS"
                else errors.http_error(MethodNotAllowed(allowed))
            )
        answer.headers.extend(cors_headers(found.endpoint, method).items())
        return answer

    def _match(self, path: str, method: str) -> tuple[str, str, Mapping[str, str]]:
        """Return the endpoint of `path`, its rule, and its arguments (shared: only read them)."""
        rule, args = self.routes.match(path, method, return_rule=True)
        return rule.endpoint, rule.rule, MappingProxyType(args)
