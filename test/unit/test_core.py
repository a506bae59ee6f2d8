"""The serving core, driven through a stand-in for granian's RSGI protocol."""

import asyncio
import re
import threading
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
from prometheus_client import CollectorRegistry

from page_tracker.app import create_app
from page_tracker.metrics import UNMATCHED, Metrics
from page_tracker.web.busy import fast
from page_tracker.web.endpoints import router
from page_tracker.web.serving.core import Core, answer_refusal
from page_tracker.web.serving.observed import Observed
from test.scrape import scrape, value

Environ = dict[str, Any]
# The routers of the app, as `serve` gives them to the core (no Redis is reached).
ROUTE = router(fast.RULES, create_app().url_map)


class Headers:
    """RSGI's request headers: lower-case names, a repeated name repeated."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self.pairs = pairs

    def get(self, key: str, default: Any = None) -> Any:
        return next((value for name, value in self.pairs if name == key), default)

    def items(self) -> list[tuple[str, str]]:
        return self.pairs


@dataclass
class Scope:
    path: str
    method: str = "GET"
    pairs: list[tuple[str, str]] = field(default_factory=list)
    query_string: str = ""
    proto: str = "http"
    http_version: str = "1.1"
    scheme: str = "http"
    client: str = "203.0.113.9:50123"
    server: str = "127.0.0.1:8000"

    @property
    def headers(self) -> Headers:
        return Headers(self.pairs)


class Stream:
    def __init__(self) -> None:
        self.sent: list[bytes] = []

    async def send_bytes(self, data: bytes) -> None:
        self.sent.append(data)


class Proto:
    """Sends `chunks` of a body, waiting `pause` seconds before each; records the answer."""

    def __init__(self, chunks: Iterable[bytes] = (), pause: float = 0.0) -> None:
        self.chunks = list(chunks)
        self.pause = pause
        self.answer: tuple[int, dict[str, str], bytes] | None = None
        self.stream = Stream()
        self.read = 0

    async def __call__(self) -> bytes:
        return b"".join([chunk async for chunk in self])

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            await asyncio.sleep(self.pause)
            self.read += len(chunk)
            yield chunk

    def response_bytes(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.answer = (status, dict(headers), body)

    def response_stream(self, status: int, headers: list[tuple[str, str]]) -> Stream:
        self.answer = (status, dict(headers), b"")
        return self.stream


def recording(
    seen: list[Environ], body: Callable[[Environ], Iterable[bytes]] | None = None
) -> Callable[..., Iterable[bytes]]:
    """Return a WSGI app that keeps each environ (and the body it read) and answers 200."""

    def app(environ: Environ, start_response: Callable[..., Any]) -> Iterable[bytes]:
        environ["read"] = environ["wsgi.input"].read()
        environ["thread"] = threading.current_thread().name
        seen.append(environ)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return body(environ) if body else [b"ok"]

    return app


def serve(app: Callable[..., Iterable[bytes]], scope: Scope, proto: Proto, **settings: Any) -> None:
    core = Core(
        app,
        ROUTE,
        refusals=settings.get("refusals", answer_refusal),
        threads=2,
        read_timeout_s=settings.get("timeout", 1.0),
        max_body=64,
    )

    async def run() -> None:
        core.__rsgi_init__(asyncio.get_running_loop())
        try:
            await core(scope, proto)  # type: ignore[arg-type]
        finally:
            core.__rsgi_del__(asyncio.get_running_loop())

    asyncio.run(run())


def test_the_environ_carries_the_request_as_wsgi_names_it() -> None:
    seen: list[Environ] = []
    scope = Scope(
        "/hit/café/x y",
        method="POST",
        query_string="a=%20b",
        pairs=[
            ("content-type", "application/json"),
            ("content-length", "2"),
            ("x-forwarded-for", "198.51.100.1"),
            ("x-forwarded-for", "198.51.100.2"),
            ("cookie", "a=1"),
            ("cookie", "b=2"),
        ],
    )
    proto = Proto([b"{}"])
    serve(recording(seen), scope, proto)
    (environ,) = seen
    assert environ["PATH_INFO"].encode("latin-1").decode() == "/hit/café/x y"
    assert environ["QUERY_STRING"] == "a=%20b"
    assert environ["CONTENT_TYPE"] == "application/json"
    assert environ["CONTENT_LENGTH"] == "2"
    assert environ["read"] == b"{}"
    assert environ["HTTP_X_FORWARDED_FOR"] == "198.51.100.1, 198.51.100.2"
    assert environ["HTTP_COOKIE"] == "a=1; b=2"
    assert environ["REMOTE_ADDR"] == "203.0.113.9"
    assert (environ["SERVER_NAME"], environ["SERVER_PORT"]) == ("127.0.0.1", "8000")
    assert "HTTP_CONTENT_LENGTH" not in environ
    assert proto.answer == (200, {"Content-Type": "text/plain"}, b"ok")


def test_an_ipv6_client_address_loses_its_brackets() -> None:
    seen: list[Environ] = []
    serve(recording(seen), Scope("/", client="[2001:db8::1]:4433"), Proto())
    assert seen[0]["REMOTE_ADDR"] == "2001:db8::1"


@pytest.mark.parametrize(
    ("path", "thread"), [("/", "MainThread"), ("/hit/a/b", "MainThread"), ("/dashboard/", "page")]
)
def test_busy_paths_answer_on_the_loop_and_the_rest_in_the_pool(path: str, thread: str) -> None:
    seen: list[Environ] = []
    serve(recording(seen), Scope(path), Proto())
    assert seen[0]["thread"].startswith(thread)


def error_of(proto: Proto) -> tuple[int, str, str | None]:
    assert proto.answer is not None
    status, headers, body = proto.answer
    return status, orjson.loads(body)["message"], headers.get("connection")


def test_a_declared_length_over_the_cap_is_refused_unread() -> None:
    seen: list[Environ] = []
    proto = Proto([b"x" * 65])
    serve(recording(seen), Scope("/create", "POST", [("content-length", "65")]), proto)
    assert error_of(proto) == (413, "the body of POST /create is over 64 bytes", "close")
    assert (seen, proto.read) == ([], 0)


def test_a_refusal_is_observed_as_every_answer_is() -> None:
    metrics = Metrics(CollectorRegistry())
    observed = Observed(answer_refusal, metrics, trust_proxy=False)
    proto = Proto([b"x" * 65])
    scope = Scope("/create", "POST", [("content-length", "65")])
    serve(recording([]), scope, proto, refusals=observed)
    assert error_of(proto)[0] == 413
    assert proto.answer is not None
    assert re.fullmatch(r"[0-9a-f]{16}", proto.answer[1]["X-Request-ID"])
    counted = {"route": UNMATCHED, "method": "POST", "status": "4xx"}
    assert value(scrape(metrics.registry), "page_tracker_requests_total", **counted) == 1


def test_a_route_declares_its_own_cap() -> None:
    seen: list[Environ] = []
    body = b"x" * 1000
    serve(recording(seen), Scope("/api/event", "POST", [("content-length", "1000")]), Proto([body]))
    assert seen[0]["read"] == body


def test_a_chunked_body_is_cut_off_at_the_cap() -> None:
    seen: list[Environ] = []
    proto = Proto([b"x" * 40] * 100)
    serve(recording(seen), Scope("/create", "POST", [("transfer-encoding", "chunked")]), proto)
    assert error_of(proto)[:1] == (413,)
    assert seen == []
    assert proto.read == 80  # the chunk that passed the cap, and nothing after it


def test_a_chunked_body_within_the_cap_is_read_whole() -> None:
    seen: list[Environ] = []
    proto = Proto([b"ab", b"cd"])
    serve(recording(seen), Scope("/create", "POST", [("transfer-encoding", "chunked")]), proto)
    assert (seen[0]["read"], seen[0]["CONTENT_LENGTH"]) == (b"abcd", "4")


def test_a_body_not_sent_in_time_gets_408_and_a_closed_connection() -> None:
    seen: list[Environ] = []
    proto = Proto([b"a"] * 10, pause=0.05)
    scope = Scope("/api/event", "POST", [("content-length", "10")])
    serve(recording(seen), scope, proto, timeout=0.2)
    assert error_of(proto) == (408, "the body was not all sent within 0.2 s", "close")
    assert seen == []


def test_a_length_that_is_no_number_is_a_400() -> None:
    proto = Proto()
    serve(recording([]), Scope("/create", "POST", [("content-length", "-1")]), proto)
    assert error_of(proto)[0] == 400


def test_an_answer_without_a_length_is_streamed_as_it_is_made() -> None:
    made: list[str] = []

    def events(environ: Environ) -> Iterator[bytes]:
        for n in range(3):
            made.append(threading.current_thread().name)
            yield b"event %d\n" % n

    proto = Proto()
    serve(recording([], events), Scope("/dashboard/sites/a/live"), proto)
    assert proto.stream.sent == [b"event 0\n", b"event 1\n", b"event 2\n"]
    assert all(name.startswith("page-tracker") for name in made)


def test_an_app_that_fails_answers_a_json_500() -> None:
    def broken(environ: Environ, start_response: Callable[..., Any]) -> Iterable[bytes]:
        raise RuntimeError("boom")

    proto = Proto()
    serve(broken, Scope("/"), proto)
    assert error_of(proto)[0] == 500
