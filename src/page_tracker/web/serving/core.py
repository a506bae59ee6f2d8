"""The serving core: granian's RSGI interface, with every request body read on the event loop.

No handler reads from a socket.  The core reads each body under a cap (its endpoint's, in the
table of endpoints.py) and a deadline (READ_TIMEOUT_S), then answers the request, body in
memory: the busy endpoints by coroutines awaited on the loop itself (serving/on_loop.py), the
rest of the site through the WSGI stack (Observed, Proxied, Flask) in a bounded thread pool.
A client that sends slowly holds a coroutine, never a thread.
"""

import asyncio
import io
import logging
import sys
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from page_tracker.web.answers import Reply, json_error
from page_tracker.web.endpoints import Endpoint
from page_tracker.web.serving.observed import WSGIApp
from page_tracker.web.serving.streams import HANDED_OVER, LiveStreams, Transport

Headers = list[tuple[str, str]]
log = logging.getLogger(__name__)

# Headers whose WSGI names have no HTTP_ prefix.
UNPREFIXED = {"content-type": "CONTENT_TYPE", "content-length": "CONTENT_LENGTH"}
CLOSE = ("connection", "close")


class RequestHeaders(Protocol):
    """A request's headers as RSGI gives them: lower-case names, repeated names repeated."""

    def get(self, key: str, default: Any = None) -> Any:
        """Return the first value of `key`, or `default`."""

    def items(self) -> list[tuple[str, str]]:
        """Return every (name, value) pair, in the order sent."""


class Scope(Protocol):
    """The RSGI scope of an HTTP request: what the core reads of it."""

    proto: str
    http_version: str
    method: str
    path: str
    query_string: str
    scheme: str
    client: str
    server: str

    @property
    def headers(self) -> RequestHeaders:
        """Return the request's headers."""


class HTTPProtocol(Protocol):
    """The RSGI HTTP protocol: the body in, one answer out."""

    async def __call__(self) -> bytes:
        """Return the whole body."""

    def __aiter__(self) -> Any:
        """Iterate over the body's chunks as they arrive."""

    def response_bytes(self, status: int, headers: Headers, body: bytes) -> None:
        """Answer with `body`."""

    def response_stream(self, status: int, headers: Headers) -> Transport:
        """Start a streamed answer."""

    async def client_disconnect(self) -> None:
        """Return once the client has gone."""


class LoopApp(Protocol):
    """The endpoints answered by coroutines of the loop (serving/on_loop.py's OnLoop)."""

    def find(self, environ: dict[str, Any]) -> Any | None:
        """Return what answering this request takes, None if it is not for this app."""

    async def answer(self, found: Any, environ: dict[str, Any]) -> Reply:
        """Answer a request `find` found."""


class _RefusedError(Exception):
    """A request refused before any handler saw it, with its status and message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


# Where the core puts the refusal of a request that no handler sees (a _RefusedError).
REFUSAL = "page_tracker.refusal"


def answer_refusal(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
    """Answer the refusal in the environ: its status and a JSON body that says why."""
    refused: _RefusedError = environ[REFUSAL]
    return json_error(refused.status, str(refused))(environ, start_response)


class Core:
    """An RSGI app that reads bodies under caps and a deadline, then answers through `wsgi`.

    `route` finds a request's Endpoint: where it is answered and its largest body.  A loop
    endpoint that `on_loop` finds is awaited there; any other goes through `wsgi`, on the loop
    or in the pool.  A request refused before any handler sees it is answered by `refusals`
    (by default answer_refusal; `serve` gives it observed, so a refusal has a request id, an
    access line and metrics).
    """

    def __init__(
        self,
        wsgi: WSGIApp,
        route: Callable[[str, str], Endpoint],
        live: LiveStreams | None = None,
        *,
        on_loop: LoopApp | None = None,
        refusals: WSGIApp = answer_refusal,
        threads: int,
        read_timeout_s: float,
        max_body: int,
    ) -> None:
        self.wsgi = wsgi
        self.route = route
        self.live = live
        self.on_loop = on_loop
        self.refusals = refusals
        self.threads = threads
        self.read_timeout_s = read_timeout_s
        self.max_body = max_body
        self.pool: ThreadPoolExecutor | None = None

    def __rsgi_init__(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start the thread pool of the worker's loop."""
        # A bounded pool: beyond `threads`, requests wait for a thread, their bodies already read.
        self.pool = ThreadPoolExecutor(self.threads, thread_name_prefix="page-tracker")

    def __rsgi_del__(self, loop: asyncio.AbstractEventLoop) -> None:
        """Let the requests in the pool finish, then stop it."""
        if self.pool is not None:
            self.pool.shutdown(wait=True)

    async def __call__(self, scope: Scope, proto: HTTPProtocol) -> None:
        """Answer one HTTP request (granian calls the app itself: it has no __rsgi__)."""
        endpoint = self.route(scope.path, scope.method)
        try:
            body = await self._body(scope, proto, endpoint.body_cap or self.max_body)
        except _RefusedError as refused:
            environ = self._environ(scope, b"")
            environ[REFUSAL] = refused
            status, headers, content = self._call(environ, self.refusals)
            # The rest of the body is not read: the connection is closed after the answer.
            proto.response_bytes(status, [*headers, CLOSE], _whole(content))
            return
        environ = self._environ(scope, body)
        if endpoint.on_loop and self.on_loop is not None:
            found = self.on_loop.find(environ)
            if found is not None:
                proto.response_bytes(*await _awaited(self.on_loop, found, environ))
                return
        if self.live is not None:
            environ[HANDED_OVER] = None  # a live view names its site here
        if endpoint.on_loop:
            status, headers, content = self._call(environ)
        else:
            loop = asyncio.get_running_loop()
            status, headers, content = await loop.run_in_executor(self.pool, self._call, environ)
        site = environ.get(HANDED_OVER)
        if site is not None and self.live is not None and status == 200:
            # The view let the client watch the site: the stream is answered here, threadless.
            headers = [(name, value) for name, value in headers if name.lower() != "content-length"]
            try:
                stream = proto.response_stream(status, headers)
                await self.live.stream(site, stream, proto.client_disconnect)
            except Exception as error:  # the client went away
                log.debug("live stream ended: %s", error)
        elif isinstance(content, bytes):
            proto.response_bytes(status, headers, content)
        else:
            await self._stream(proto.response_stream(status, headers), content)

    async def _body(self, scope: Scope, proto: HTTPProtocol, cap: int) -> bytes:
        """Return the request's body; raise _RefusedError if it is over `cap` or too slow."""
        headers = scope.headers
        declared = headers.get("content-length")
        if declared is None and headers.get("transfer-encoding") is None:
            return b""
        too_large = _RefusedError(
            413, f"the body of {scope.method} {scope.path} is over {cap} bytes"
        )
        if declared is not None:
            if not declared.isdigit():
                raise _RefusedError(400, "Content-Length must be a whole number of bytes")
            if int(declared) > cap:
                raise too_large
            if declared == "0":
                return b""
        try:
            async with asyncio.timeout(self.read_timeout_s):
                if declared is not None:
                    return await proto()
                chunks, size = [], 0
                async for chunk in proto:
                    size += len(chunk)
                    if size > cap:
                        raise too_large
                    chunks.append(chunk)
                return b"".join(chunks)
        except TimeoutError:
            raise _RefusedError(
                408, f"the body was not all sent within {self.read_timeout_s:g} s"
            ) from None

    def _environ(self, scope: Scope, body: bytes) -> dict[str, Any]:
        """Return the WSGI environ of a request whose whole body is `body`."""
        host, _, port = scope.server.rpartition(":")
        client, _, client_port = scope.client.rpartition(":")
        environ: dict[str, Any] = {
            "REQUEST_METHOD": scope.method,
            "SCRIPT_NAME": "",
            # WSGI wants the path's bytes as latin-1 text; RSGI gives them decoded as UTF-8.
            "PATH_INFO": scope.path.encode().decode("latin-1"),
            "QUERY_STRING": scope.query_string,
            "SERVER_NAME": host.strip("[]"),
            "SERVER_PORT": port,
            "SERVER_PROTOCOL": f"HTTP/{scope.http_version}",
            "REMOTE_ADDR": client.strip("[]"),
            "REMOTE_PORT": client_port,
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": scope.scheme,
            "wsgi.input": io.BytesIO(body),
            "wsgi.input_terminated": True,
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
        }
        for name, value in scope.headers.items():
            if name in UNPREFIXED:
                if name == "content-type":
                    environ["CONTENT_TYPE"] = value
                continue  # the length is the body's, read above
            key = "HTTP_" + name.upper().replace("-", "_")
            if key in environ:  # a repeated header: its values joined as HTTP says
                joined = "; " if name == "cookie" else ", "
                environ[key] = f"{environ[key]}{joined}{value}"
            else:
                environ[key] = value
        return environ

    def _call(
        self, environ: dict[str, Any], app: WSGIApp | None = None
    ) -> tuple[int, Headers, "bytes | _Chained"]:
        """Answer `environ` through `app` (the WSGI stack): a body in memory, or chunks."""
        started: list[Any] = []

        def start_response(status: str, headers: Headers, exc_info: Any = None) -> None:
            started[:] = [int(status[:3]), headers]

        try:
            body = (app or self.wsgi)(environ, start_response)
            if isinstance(body, list):
                return started[0], started[1], b"".join(body)
            chunks = iter(body)
            first = next(chunks, b"")  # a WSGI app may start its answer at its first chunk
            status, headers = started
            if any(name.lower() == "content-length" for name, _ in headers):
                try:
                    return status, headers, first + b"".join(chunks)
                finally:
                    _close(body)
            return status, headers, _Chained(first, chunks, body)
        except Exception:
            log.exception("the app failed to answer %s", environ["PATH_INFO"])
            return _failed()

    async def _stream(self, transport: Transport, chunks: "_Chained") -> None:
        """Send `chunks` as the app makes them, each made in the pool (making one may wait)."""
        loop = asyncio.get_running_loop()
        try:
            while (chunk := await loop.run_in_executor(self.pool, chunks.next)) is not None:
                await transport.send_bytes(chunk)
        except Exception as error:  # the client went away: nothing is left to answer
            log.debug("stream ended: %s", error)
        finally:
            await loop.run_in_executor(self.pool, chunks.close)


class _Chained:
    """A streamed WSGI body whose first chunk is already read."""

    def __init__(self, first: bytes, rest: Iterator[bytes], body: Iterable[bytes]) -> None:
        self._first: bytes | None = first
        self._rest = rest
        self._body = body

    def next(self) -> bytes | None:
        """Return the next chunk, or None after the last."""
        if self._first is not None:
            first, self._first = self._first, None
            return first
        return next(self._rest, None)

    def close(self) -> None:
        """Close the body, as WSGI requires once it is sent or abandoned."""
        _close(self._body)


async def _awaited(on_loop: LoopApp, found: Any, environ: dict[str, Any]) -> Reply:
    """Answer a busy endpoint on the loop: its status, headers and body."""
    try:
        return await on_loop.answer(found, environ)
    except Exception:
        log.exception("the app failed to answer %s", environ["PATH_INFO"])
        return _failed()


def _failed() -> Reply:
    """Return the answer to a request the app failed to answer."""
    return Reply.of(json_error(500, "the server failed to answer; it has been logged"))


def _whole(content: "bytes | _Chained") -> bytes:
    """Return an answer's whole body (a refusal's is small, and made at once)."""
    if isinstance(content, bytes):
        return content
    try:
        return b"".join(iter(content.next, None))
    finally:
        content.close()


def _close(body: Iterable[bytes]) -> None:
    close = getattr(body, "close", None)
    if close is not None:
        close()
