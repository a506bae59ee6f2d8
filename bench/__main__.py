"""`make bench`: page-tracker under load beside the seed app served the seed's two ways.

Every figure comes from this one run on this machine, and targets are ratios between them.
"""

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import redis

from bench import loadgen
from page_tracker.embedded import RedisServer, free_port

BIN = Path(sys.executable).parent
WARMUP_S = 1.0
LOAD_S = 5.0


@dataclass(frozen=True)
class Server:
    """A way of serving an app, started as its own process on a port."""

    name: str
    command: list[str]


def servers() -> list[Server]:
    """Return page-tracker and the seed app served the seed's two ways."""
    return [
        Server("page-tracker serve (granian)", [str(BIN / "page-tracker"), "serve"]),
        Server("seed on gunicorn (defaults)", [str(BIN / "gunicorn"), "bench.seed_app:app"]),
        Server("seed on flask run", [str(BIN / "flask"), "--app", "bench.seed_app", "run"]),
    ]


def listen_arguments(server: Server, port: int) -> list[str]:
    if "gunicorn" in server.command[0]:
        return ["--bind", f"127.0.0.1:{port}"]
    return ["--port", str(port)]


def wait_for_port(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except OSError:
            time.sleep(0.1)
        else:
            return
    raise RuntimeError(f"nothing listens on port {port}")


@contextmanager
def running(server: Server, redis_url: str) -> Iterator[str]:
    """Start `server` against `redis_url`, yield its base URL, and stop it."""
    port = free_port()
    process = subprocess.Popen(
        [*server.command, *listen_arguments(server, port)],
        env={**os.environ, "REDIS_URL": redis_url},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, process)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(30)


def measure(server: Server, client: redis.Redis, redis_url: str) -> tuple[loadgen.Result, int]:
    """Load `server`'s home page; return the result and how many views Redis counted."""
    with running(server, redis_url) as base:
        request = loadgen.Request(f"{base}/")
        loadgen.run(request, WARMUP_S)
        before = int(client.get("page_views") or 0)
        result = loadgen.run(request, LOAD_S)
        counted = int(client.get("page_views") or 0) - before
    return result, counted


def main() -> int:
    """Run every scenario, print the table and the ratios; exit 1 if a check or target fails."""
    print(f"load: {loadgen.tool()}, {loadgen.THREADS} threads, {loadgen.CONNECTIONS} connections")
    failures: list[str] = []
    rates: dict[str, float] = {}
    with (
        tempfile.TemporaryDirectory() as data,
        RedisServer(Path(data), port=free_port(), persist=False) as redis_server,
        redis.Redis.from_url(redis_server.url) as client,
    ):
        print(f"{'GET /':32} {'requests':>9} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7}  counted")
        for server in servers():
            result, counted = measure(server, client, redis_server.url)
            rates[server.name] = result.rate
            exact = counted == result.ok
            print(
                f"{server.name:32} {result.responses:9d} {result.rate:8.0f} {result.p50_ms:7.2f} "
                f"{result.p99_ms:7.2f}  {counted} of {result.ok} 2xx {'ok' if exact else 'WRONG'}"
            )
            if not exact:
                failures.append(f"{server.name}: Redis counted {counted}, {result.ok} got 2xx")
    mine = rates["page-tracker serve (granian)"]
    for reference, target in (
        ("seed on gunicorn (defaults)", 3.0),
        ("seed on flask run", 5.0),
    ):
        ratio = mine / rates[reference]
        verdict = "meets" if ratio >= target else "MISSES"
        print(f"page-tracker / {reference}: {ratio:.2f}x ({verdict} the {target:g}x target)")
        if ratio < target:
            failures.append(f"ratio to {reference} is {ratio:.2f}x, below {target:g}x")
    for failure in failures:
        print(f"FAILED: {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
