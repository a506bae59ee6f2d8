"""Redis on the event loop: one pipelined connection per worker, spoken with hiredis's reader.

A loop must never wait on a socket, so the busy endpoints talk to Redis through this client.
Every command is written at once, and its reply resolves a future in the order Redis answers,
so the requests of a worker share one connection and many commands are in flight at once.
It costs a fraction of redis.asyncio's CPU per command (docs/architecture.md has the figures).

It fails as the blocking client does (store/connection.py): no retries, a reply not back in
`timeout` seconds raises redis.TimeoutError, and Redis being down raises redis.ConnectionError
at once.  After a timeout or a lost connection, every command still waiting fails and the next
one connects anew: a reply that came late can never be taken for another command's.
"""

import asyncio
import collections
import ssl
import time
from collections.abc import Sequence
from typing import Any, TypeVar

import hiredis
import redis
from redis._parsers import BaseParser
from redis.connection import SSLConnection, parse_url
from redis.exceptions import NoScriptError

from page_tracker.store import scripts
from page_tracker.store.calls import Call
from page_tracker.store.connection import CommandWatch

T = TypeVar("T")


class _Protocol(asyncio.Protocol):
    """One connection: commands out, replies in, matched to their futures in order.

    A command not answered within `timeout` seconds fails the connection.  Replies come in
    order, so only the oldest command's time is watched, by one timer.
    """

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.reader = hiredis.Reader(encoding="utf-8", replyError=BaseParser.parse_error)
        # Each command waiting for its reply, with the loop time it must come by.
        self.waiting: collections.deque[tuple[asyncio.Future[Any], float]] = collections.deque()
        self.transport: asyncio.Transport | None = None
        self.lost: Exception | None = None
        self.unsent: list[bytes] = []
        self.timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.reader.feed(data)
        while (reply := self.reader.gets()) is not False:
            waiter, _ = self.waiting.popleft()
            if not waiter.done():  # its caller may have been cancelled
                waiter.set_result(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        self.fail(redis.ConnectionError(f"the connection to Redis was lost: {exc or 'closed'}"))

    def fail(self, error: Exception) -> None:
        """Fail every command still waiting with `error`, and every command sent from now."""
        self.lost = error
        while self.waiting:
            waiter, _ = self.waiting.popleft()
            if not waiter.done():
                waiter.set_exception(error)
        if self.timer is not None:
            self.timer.cancel()
        if self.transport is not None:
            self.transport.close()

    def send(self, args: Sequence[Any]) -> "asyncio.Future[Any]":
        """Write one command; return the future of its reply."""
        if self.lost is not None or self.transport is None or self.transport.is_closing():
            raise redis.ConnectionError("the connection to Redis is closed")
        loop = asyncio.get_running_loop()
        waiter = loop.create_future()
        deadline = loop.time() + self.timeout
        self.waiting.append((waiter, deadline))
        if self.timer is None:
            self.timer = loop.call_at(deadline, self._check)
        # The commands of one turn of the loop go out in one write: a write is a system call,
        # which costs more than a command, and wakes Redis once for them all.
        if not self.unsent:
            loop.call_soon(self._write)
        self.unsent.append(hiredis.pack_command(tuple(args)))
        return waiter

    def _check(self) -> None:
        """Fail the connection if its oldest command is late; else watch the next oldest."""
        self.timer = None
        if not self.waiting:
            return
        loop = asyncio.get_running_loop()
        _, deadline = self.waiting[0]
        if loop.time() >= deadline:
            self.fail(redis.TimeoutError("Redis did not answer in time"))
        else:
            self.timer = loop.call_at(deadline, self._check)

    def _write(self) -> None:
        unsent, self.unsent = self.unsent, []
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(b"".join(unsent))


class LoopRedis:
    """A Redis client for coroutines of one event loop, failing fast as the blocking client."""

    def __init__(self, url: str, timeout: float, watch: CommandWatch | None = None) -> None:
        self.options: dict[str, Any] = parse_url(url)  # type: ignore[no-untyped-call]
        self.timeout = timeout
        self.watch = watch
        self._connection: _Protocol | None = None
        self._connecting: asyncio.Lock | None = None

    async def execute(self, *args: Any) -> Any:
        """Send one command and return its reply; raise its error as redis-py would."""
        started = time.perf_counter()
        try:
            connection = await self._connected()
            reply = await connection.send(args)
            if isinstance(reply, Exception):
                raise reply
        except redis.RedisError as error:
            if self.watch is not None:
                self.watch.redis_error(type(error).__name__)
            raise
        else:
            return reply
        finally:
            if self.watch is not None:
                self.watch.command(str(args[0]).upper(), time.perf_counter() - started)

    async def script(self, name: str, keys: Sequence[str], args: Sequence[Any]) -> Any:
        """Run script `name` by its SHA; load it first if this Redis has not seen it yet."""
        try:
            return await self.execute("EVALSHA", scripts.SHAS[name], len(keys), *keys, *args)
        except NoScriptError:  # nothing ran: running it now counts it once
            await self.execute("SCRIPT", "LOAD", scripts.SOURCES[name])
            return await self.execute("EVALSHA", scripts.SHAS[name], len(keys), *keys, *args)

    async def run(self, call: Call[T]) -> T:
        """Make `call` and return what its reply reads as."""
        if call.script is not None:
            return call.read(await self.script(call.script, call.keys, call.args))
        return call.read(await self.execute(*call.args))

    def close(self) -> None:
        """Close the connection; commands still waiting fail."""
        if self._connection is not None:
            self._connection.fail(redis.ConnectionError("the client was closed"))
            self._connection = None

    async def _connected(self) -> _Protocol:
        connection = self._connection
        if connection is not None and connection.lost is None:
            return connection
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:  # the commands that find it closed wait for one connect
            if self._connection is None or self._connection.lost is not None:
                self._connection = await self._connect()
            return self._connection

    async def _connect(self) -> _Protocol:
        loop = asyncio.get_running_loop()
        options = self.options

        def protocol() -> _Protocol:
            return _Protocol(self.timeout)

        try:
            async with asyncio.timeout(self.timeout):
                if "path" in options:
                    _, connection = await loop.create_unix_connection(protocol, options["path"])
                else:
                    secure = options.get("connection_class") is SSLConnection
                    _, connection = await loop.create_connection(
                        protocol,
                        options.get("host", "localhost"),
                        options.get("port", 6379),
                        ssl=ssl.create_default_context() if secure else None,
                    )
                await self._hello(connection)
        except TimeoutError:
            raise redis.TimeoutError("Redis did not accept a connection in time") from None
        except OSError as error:
            raise redis.ConnectionError(f"cannot connect to Redis: {error}") from error
        return connection

    async def _hello(self, connection: _Protocol) -> None:
        """Authenticate and select the URL's database, as the blocking client does."""
        options, hello = self.options, []
        if options.get("password"):
            user = options.get("username") or "default"
            hello.append(connection.send(["AUTH", user, options["password"]]))
        if options.get("db"):
            hello.append(connection.send(["SELECT", options["db"]]))
        for reply in await asyncio.gather(*hello):
            if isinstance(reply, Exception):
                connection.fail(reply)
                raise reply
