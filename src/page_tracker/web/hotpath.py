"""The busiest requests, answered without Flask's per-request machinery: hits and badges.

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

from page_tracker.extensions import runtime
from page_tracker.services.counters import CounterError
from page_tracker.store.connection import UNAVAILABLE
from page_tracker.web import badges, counters, names, ratelimit
from page_tracker.web.answers import json_error
from page_tracker.web.errors import unavailable

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
Answer = Callable[[], Response]


def _names(segments: list[str]) -> tuple[str, str] | None:
    # /verb/<namespace>/<key>, or /verb/<key> in the default namespace.
    if len(segments) == 2:
        return segments[0], segments[1]
    if len(segments) == 1:
        return names.DEFAULT_NAMESPACE, segments[0]
    return None


class HotPath:
    """WSGI middleware that answers GET and POST /hit/... and GET /badge/....svg itself."""

    def __init__(self, app: Flask, fallback: WSGIApp) -> None:
        self.app = app
        self.fallback = fallback

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        """Answer a hit or a badge; pass any other request to Flask."""
        answer = self._route(environ)
        if answer is None:
            return self.fallback(environ, start_response)
        try:
            response = self._limited(environ, answer)
        except HTTPException as error:  # a refusal, made before anything was counted
            response = error.get_response(environ)  # type: ignore[assignment]
        except CounterError as error:
            response = counters.counter_error(error)
        except UNAVAILABLE:
            self.app.logger.exception("Redis is unavailable")
            response = unavailable(self.app.config["RETRY_AFTER"])
        except Exception:
            self.app.logger.exception("Unhandled error")
            response = json_error(500, "Something went wrong on our side.")
        return response(environ, start_response)

    def _route(self, environ: dict[str, Any]) -> Answer | None:
        method, path = environ["REQUEST_METHOD"], environ["PATH_INFO"]
        if path.startswith("/hit/") and method in ("GET", "POST"):
            if environ.get("QUERY_STRING"):  # a JSONP callback: the Flask view wraps it
                return None
            counter = _names(path[len("/hit/") :].split("/"))
            return None if counter is None else self._hit(environ, *counter)
        if path.startswith("/badge/") and path.endswith(".svg") and method == "GET":
            counter = _names(path[len("/badge/") : -len(".svg")].split("/"))
            return None if counter is None else self._badge(environ, *counter)
        return None

    def _hit(self, environ: dict[str, Any], namespace: str, key: str) -> Answer:
        request = Request(environ)
        return lambda: counters.answer_hit(
            runtime(self.app.extensions), namespace, key, request.remote_addr or "",
            request.headers.get("User-Agent", ""),
        )  # fmt: skip

    def _badge(self, environ: dict[str, Any], namespace: str, key: str) -> Answer:
        request = Request(environ)
        return lambda: badges.answer_badge(
            # A dict of the first values: a MultiDict raises (and catches) on every missing key.
            runtime(self.app.extensions), namespace, key, request.args.to_dict(),
            request.remote_addr or "", request.headers.get("User-Agent", ""),
        )  # fmt: skip

    def _limited(self, environ: dict[str, Any], answer: Answer) -> Response:
        limit: ratelimit.RateLimit | None = self.app.extensions.get(ratelimit.EXTENSION)
        if limit is None:
            return answer()
        return limit.spend(environ.get("REMOTE_ADDR") or "", answer)
