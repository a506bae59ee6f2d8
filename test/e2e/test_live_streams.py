"""Thousands of live dashboards on one real `serve`: each hears of a view, none holds a thread."""

import asyncio
import re
import time
from collections.abc import Callable

import pytest
import requests

from page_tracker.embedded import RedisServer
from test.e2e.load import MEGABYTE, best_hit_rate, rss
from test.e2e.serving import Serve, ServeProcess, environment

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("local_only")]
TOKEN = "live-admin-token-0123"  # noqa: S105
ADMIN = {"Authorization": f"Bearer {TOKEN}"}
STREAMS = 2000
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
BEACON = '{"site": "livetest", "url": "https://live.test/"}'
BROWSER = {"Content-Type": "text/plain", "User-Agent": "Mozilla/5.0 Firefox/120.0"}


@pytest.fixture
def server(redis_server: RedisServer, start_server: Serve) -> ServeProcess:
    # Every request here comes from 127.0.0.1: one address's budgets would refuse most.
    env = environment(
        redis_server.url,
        ADMIN_TOKEN=TOKEN,
        LIVE_STREAM_SECONDS="120",
        RATE_LIMIT="",
        VIEW_RATE_LIMIT="",
    )
    served = start_server(["--workers", "2"], env)
    site = {"name": "livetest", "domains": ["live.test"]}
    requests.post(f"{served.url}/api/sites", json=site, headers=ADMIN, timeout=5)
    return served


def session_cookie(url: str) -> str:
    """Sign in to the dashboard with the admin token; return the session cookie."""
    with requests.Session() as session:
        page = session.get(f"{url}/dashboard/login", timeout=5).text
        token = CSRF.search(page).group(1)  # type: ignore[union-attr]
        signed_in = session.post(
            f"{url}/dashboard/login", data={"token": TOKEN, "csrf_token": token}, timeout=5
        )
        assert signed_in.ok
        return "; ".join(f"{name}={value}" for name, value in session.cookies.items())


class Stream:
    """One live dashboard: a connection that reads the stream's events as they come."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int, cookie: str) -> "Stream":
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            f"GET /dashboard/sites/livetest/live HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Cookie: {cookie}\r\nAccept: text/event-stream\r\n\r\n".encode()
        )
        stream = cls(reader, writer)
        await stream.until(b"event: ready")
        return stream

    async def until(self, event: bytes) -> None:
        """Read until `event` arrives (the caller bounds the wait)."""
        seen = b""
        while event not in seen:
            chunk = await self.reader.read(4096)
            assert chunk, f"the stream ended before {event!r}: {seen[-200:]!r}"
            seen = seen[-200:] + chunk

    def close(self) -> None:
        self.writer.close()


async def open_streams(port: int, cookie: str, count: int) -> list[Stream]:
    opening = [asyncio.ensure_future(Stream.open(port, cookie)) for _ in range(count)]
    async with asyncio.timeout(60):
        return list(await asyncio.gather(*opening))


def test_two_thousand_streams_each_hear_of_a_view_within_two_seconds(
    server: ServeProcess, record_property: Callable[[str, object], None]
) -> None:
    cookie = session_cookie(server.url)
    requests.get(f"{server.url}/hit/livetest/page", timeout=5).raise_for_status()
    calm = best_hit_rate(server.url)
    before = rss(server)

    async def watch() -> tuple[float, float, int]:
        streams = await open_streams(server.port, cookie, STREAMS)
        try:
            opened = rss(server)
            sent = time.monotonic()
            beacon = await asyncio.to_thread(
                requests.post, f"{server.url}/api/event", data=BEACON, headers=BROWSER, timeout=5
            )
            assert beacon.status_code == 202
            async with asyncio.timeout(2):
                await asyncio.gather(*(stream.until(b"event: views") for stream in streams))
            heard = time.monotonic() - sent
            beside = await asyncio.to_thread(best_hit_rate, server.url)
            return heard, beside, opened
        finally:
            for stream in streams:
                stream.close()

    heard, beside, opened = asyncio.run(watch())
    per_thousand = (opened - before) / (STREAMS / 1000) / MEGABYTE
    record_property("heard_s", round(heard, 2))
    record_property("rss_mb_per_1000_streams", round(per_thousand, 1))
    assert heard < 2
    assert beside >= 0.8 * calm, f"/hit: {beside:.0f} req/s beside the streams, {calm:.0f} without"
    assert rss(server) < 256 * MEGABYTE
