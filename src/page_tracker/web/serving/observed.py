"""Around every request: a request id, an access log line, and request metrics.

As WSGI middleware around the whole app, and around the busy endpoints on the event loop.
"""

import itertools
import os
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from typing import Any

from flask import Request
from werkzeug.routing import Rule

from page_tracker import logs
from page_tracker.metrics import UNMATCHED, Unmeasured
from page_tracker.web.answers import Reply
from page_tracker.web.endpoints import ROUTE

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
REQUEST_ID_HEADER = "X-Request-ID"
# An id a proxy sends is kept only if it is short and plain: it goes into every log line.
SOUND_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


class _RequestIds:
    """New request ids: a random prefix per process, then a count.

    A random id of its own was a system call (urandom) at every request: a profile of the
    beacon under load put it at 5% of the loop thread's time.
    """

    def __init__(self) -> None:
        self._reset()
        os.register_at_fork(after_in_child=self._reset)  # a worker's ids are its own

    def _reset(self) -> None:
        self._prefix = secrets.token_hex(4)
        self._next = itertools.count().__next__

    def new(self) -> str:
        """Return an id no other request of this process, and most likely of any, has had."""
        return f"{self._prefix}{self._next() & 0xFFFFFFFF:08x}"


_IDS = _RequestIds()


class RoutedRequest(Request):
    """Flask's request, which leaves the route template it matched in the environ."""

    _rule: Rule | None = None

    @property
    def url_rule(self) -> Rule | None:
        """Return the rule Flask matched, if any."""
        return self._rule

    @url_rule.setter
    def url_rule(self, rule: Rule | None) -> None:
        self._rule = rule
        if rule is not None:
            self.environ[ROUTE] = rule.rule


class Observed:
    """Give each request an id (the trusted proxy's, or a new one), log it and measure it.

    The id is set for the log lines of the request, and returned in X-Request-ID.  Without
    metrics and access lines, that is all it does.
    """

    def __init__(self, app: WSGIApp, metrics: Unmeasured, *, trust_proxy: bool) -> None:
        self._app = app
        self._metrics = metrics
        self._trust_proxy = trust_proxy

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        """Answer through the app below, with the request id in the logs and the answer."""
        started = time.perf_counter()
        request_id = self._request_id(environ)
        logs.REQUEST_ID.set(request_id)
        status = [0]

        def start(line: str, headers: list[tuple[str, str]], *rest: Any) -> Any:
            status[0] = int(line[:3])
            headers.append((REQUEST_ID_HEADER, request_id))
            return start_response(line, headers, *rest)

        try:
            body = self._app(environ, start)
        except BaseException:
            logs.REQUEST_ID.set(None)
            raise
        if not (self._metrics.enabled or logs.writes_access_lines()):
            return body  # nothing to time, count or write: the id was all
        if isinstance(body, list):  # the fast app's answers: sized at once
            self._done(environ, request_id, status[0], started, sum(map(len, body)))
            return body
        return _Counted(
            body, lambda size: self._done(environ, request_id, status[0], started, size)
        )

    async def observe(
        self, environ: dict[str, Any], respond: Callable[[], Awaitable[Reply]]
    ) -> Reply:
        """Answer on the event loop with what `respond` makes, observed as the WSGI stack is."""
        started = time.perf_counter()
        request_id = self._request_id(environ)
        logs.REQUEST_ID.set(request_id)
        try:
            answer = await respond()
            answer.headers.append((REQUEST_ID_HEADER, request_id))
            if environ["REQUEST_METHOD"] == "HEAD":
                answer = answer._replace(body=b"")
            if self._metrics.enabled or logs.writes_access_lines():
                self._done(environ, request_id, answer.status, started, len(answer.body))
        finally:
            logs.REQUEST_ID.set(None)
        return answer

    def around(self, app: WSGIApp) -> "Observed":
        """Return `app` observed as this middleware observes the app below it."""
        return Observed(app, self._metrics, trust_proxy=self._trust_proxy)

    def _request_id(self, environ: dict[str, Any]) -> str:
        if self._trust_proxy:
            proxy_id = environ.get("HTTP_X_REQUEST_ID")
            if proxy_id is not None and SOUND_ID.fullmatch(proxy_id):
                return str(proxy_id)
        return _IDS.new()

    def _done(
        self, environ: dict[str, Any], request_id: str, status: int, started: float, size: int
    ) -> None:
        seconds = time.perf_counter() - started
        method, route = environ["REQUEST_METHOD"], environ.get(ROUTE, UNMATCHED)
        self._metrics.request(route, method, status, seconds)
        logs.access(request_id, method, route, status, seconds, size)
        logs.REQUEST_ID.set(None)


class _Counted:
    """A streamed body, passed on as it is sent; `done(bytes)` runs once it is closed."""

    def __init__(self, body: Iterable[bytes], done: Callable[[int], None]) -> None:
        self._body = body
        self._done = done
        self._size = 0

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._body:
            self._size += len(chunk)
            yield chunk

    def close(self) -> None:
        """Close the body below, then log and measure the request."""
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            self._done(self._size)
