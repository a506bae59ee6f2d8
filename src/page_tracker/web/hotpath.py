"""The busiest requests, answered without Flask's per-request machinery: hits, badges, beacons.

Every view of every page that counts sends one of these.  Flask's request and app contexts,
routing, session, signals and hooks cost more CPU than all of a hit's bookkeeping, so this WSGI
layer answers the common shapes of these requests itself, with the very functions the Flask
views call, and hands every other request (JSONP callbacks, HEAD, OPTIONS, every other path)
to Flask.  The Flask views stay the documented routes and answer the same.
"""

from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, Response
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Request
from werkzeug.wrappers import Response as BaseResponse

from page_tracker.extensions import runtime
from page_tracker.services.counters import CounterError
from page_tracker.store.connection import FULL, UNAVAILABLE
from page_tracker.web import badges, counters, params, ratelimit, tracking
from page_tracker.web.errors import failure, http_error, unavailable

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
Answer = Callable[[], BaseResponse]


def _names(segments: list[str]) -> tuple[str, str] | None:
    # /verb/<namespace>/<key>, or /verb/<key> in the default namespace.
    if len(segments) == 2:
        return segments[0], segments[1]
    if len(segments) == 1:
        return params.DEFAULT_NAMESPACE, segments[0]
    return None


class HotPath:
    """WSGI middleware that answers hits, badges and beacons itself, and passes on the rest."""

    def __init__(self, app: Flask, fallback: WSGIApp) -> None:
        self.app = app
        self.fallback = fallback

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        """Answer a hit, a badge or a beacon; pass any other request to Flask."""
        answer = self._route(environ)
        if answer is None:
            return self.fallback(environ, start_response)
        try:
            response = answer()
        except HTTPException as error:  # a refusal, made before anything was counted
            response = http_error(error)
        except CounterError as error:
            response = counters.counter_error(error)
        except FULL as error:
            self.app.logger.warning("Redis is full: %s", error)
            response = unavailable(self.app.config["RETRY_AFTER"], full=True)
        except UNAVAILABLE:
            self.app.logger.exception("Redis is unavailable")
            response = unavailable(self.app.config["RETRY_AFTER"])
        except Exception:
            self.app.logger.exception("Unhandled error")
            response = failure()
        # Every answer here is a body built in memory with its Content-Length set: it is sent
        # as it is, without werkzeug's WSGI adapter (redirects, ranges, streaming), which costs
        # more than drawing a badge.
        start_response(response.status, response.headers.to_wsgi_list())
        return [response.get_data()]

    def _route(self, environ: dict[str, Any]) -> Answer | None:
        method, path = environ["REQUEST_METHOD"], environ["PATH_INFO"]
        if path == "/api/event" and method == "POST":
            return self._limited(environ, ratelimit.VIEWS, self._beacon)
        if path.startswith("/hit/") and method in ("GET", "POST"):
            if environ.get("QUERY_STRING"):  # a JSONP callback: the Flask view wraps it
                return None
            counter = _names(path[len("/hit/") :].split("/"))
            return (
                None
                if counter is None
                else self._limited(environ, ratelimit.WRITES, self._hit, *counter)
            )
        if path.startswith("/badge/") and path.endswith(".svg") and method == "GET":
            counter = _names(path[len("/badge/") : -len(".svg")].split("/"))
            return (
                None
                if counter is None
                else self._limited(environ, ratelimit.WRITES, self._badge, *counter)
            )
        return None

    def _beacon(self, sent: Request) -> Response:
        return tracking.answer_event(runtime(self.app.extensions), sent)

    def _hit(self, sent: Request, namespace: str, key: str) -> Response:
        return counters.answer_hit(
            runtime(self.app.extensions),
            namespace,
            key,
            sent.remote_addr or "",
            sent.headers.get("User-Agent", ""),
        )

    def _badge(self, sent: Request, namespace: str, key: str) -> Response:
        return badges.answer_badge(
            # A dict of the first values: a MultiDict raises (and catches) on every missing key.
            runtime(self.app.extensions),
            namespace,
            key,
            sent.args.to_dict(),
            sent.remote_addr or "",
            sent.headers.get("User-Agent", ""),
        )

    def _limited(
        self, environ: dict[str, Any], budget: str, handler: Callable[..., Response], *counter: str
    ) -> Answer:
        """Return the answer of `handler`, spending the client's `budget` first."""
        sent = Request(environ)
        limit: ratelimit.RateLimit | None = self.app.extensions.get(budget)
        if limit is None:
            return lambda: handler(sent, *counter)
        return lambda: limit.spend(sent.remote_addr or "", lambda: handler(sent, *counter))
