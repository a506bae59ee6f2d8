"""One round trip to Redis, described apart from its sending: a Call, run by either client.

The busy endpoints run on the event loop with the loop's client (store/pipelined.py), and
everywhere else (the thread pool, the CLI, the tests' WSGI client) with the blocking one.  They
are written once, as coroutines that await `calls.run(call)`: with Blocking, such a coroutine
never waits, and finish() runs it to its end in the calling thread.
"""

from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from redis import Redis

from page_tracker.store import scripts

T = TypeVar("T")


@dataclass(frozen=True)
class Call(Generic[T]):
    """A command (or, with `script`, one of store/scripts' scripts) and how to read its reply.

    `read` takes the reply as Redis sends it, text decoded: so a Call names only commands
    that redis-py passes through without a reply callback of its own (INCR, HGET, PFCOUNT...).
    """

    args: tuple[Any, ...]
    read: Callable[[Any], T]
    script: str | None = None
    keys: tuple[str, ...] = ()


U = TypeVar("U")


def then(call: Call[T], more: Callable[[T], U]) -> Call[U]:
    """Return `call` read on by `more`: the same round trip, a further reading of its reply."""
    return Call(call.args, lambda reply: more(call.read(reply)), call.script, call.keys)


def command(read: Callable[[Any], T], *args: Any) -> Call[T]:
    """Return a Call of one command."""
    return Call(args, read)


def script(
    name: str, keys: Sequence[str], args: Sequence[Any], read: Callable[[Any], T]
) -> Call[T]:
    """Return a Call of script `name` on `keys` with `args`."""
    return Call(tuple(args), read, name, tuple(keys))


def run(redis: Redis, call: Call[T]) -> T:
    """Make `call` with the blocking client and return what its reply reads as."""
    if call.script is not None:
        return call.read(scripts.run(redis, call.script, call.keys, call.args))
    return call.read(redis.execute_command(*call.args))  # type: ignore[no-untyped-call]


class Calls(Protocol):
    """What makes Calls: the loop's client, or the blocking one as Blocking."""

    async def run(self, call: Call[T]) -> T:
        """Make `call` and return what its reply reads as."""


class Blocking:
    """The blocking client as Calls: a coroutine that uses it finishes without waiting."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def run(self, call: Call[T]) -> T:
        """Make `call` at once, in this thread."""
        return run(self.redis, call)


def finish(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run to its end a coroutine that makes its Calls with Blocking, and return its result."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    coroutine.close()
    raise RuntimeError("a coroutine run by finish() waited: it must make its Calls by Blocking")
