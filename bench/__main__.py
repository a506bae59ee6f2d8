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
LOAD_S = 4.0
ROUNDS = 3


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
        # The rate limit is for the public; a benchmark is one client sending everything.
        env={**os.environ, "REDIS_URL": redis_url, "PAGE_TRACKER_RATE_LIMIT": ""},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, process)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(30)


# What each path counts in Redis: the seed's key, or a counter's value field.
SCENARIOS = {
    "GET /": ("page_views", None),
    "GET /hit/bench/home": ("pt:{bench}:c:home", "value"),
    "GET /badge/bench/badge.svg": ("pt:{bench}:c:badge", "value"),
}


def counted(client: redis.Redis, scenario: str) -> int:
    name, field = SCENARIOS[scenario]
    return int((client.hget(name, field) if field else client.get(name)) or 0)


def measure(
    server: Server, client: redis.Redis, redis_url: str, scenarios: list[str]
) -> dict[str, tuple[loadgen.Result, int]]:
    """Load each scenario's path ROUNDS times, interleaved; return the median run of each.

    A ratio between two scenarios is only as good as the machine was steady: interleaving
    rounds and taking medians keeps a passing disturbance from deciding it.
    """
    runs: dict[str, list[tuple[loadgen.Result, int]]] = {scenario: [] for scenario in scenarios}
    with running(server, redis_url) as base:
        for _ in range(ROUNDS):
            for scenario in scenarios:
                request = loadgen.Request(base + scenario.removeprefix("GET "))
                loadgen.run(request, WARMUP_S)
                before = counted(client, scenario)
                result = loadgen.run(request, LOAD_S)
                runs[scenario].append((result, counted(client, scenario) - before))
    return {
        scenario: sorted(results, key=lambda run: run[0].rate)[len(results) // 2]
        for scenario, results in runs.items()
    }


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
        print(f"{'server, request':58} {'requests':>9} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7}")
        for server in servers():
            mine = server.name.startswith("page-tracker")
            scenarios = list(SCENARIOS) if mine else ["GET /"]
            for scenario, (result, hits) in measure(
                server, client, redis_server.url, scenarios
            ).items():
                name = f"{server.name}, {scenario}"
                rates[name] = result.rate
                exact = hits == result.ok
                print(
                    f"{name:58} {result.responses:9d} {result.rate:8.0f} {result.p50_ms:7.2f} "
                    f"{result.p99_ms:7.2f}  counted {hits} of {result.ok} 2xx "
                    f"{'ok' if exact else 'WRONG'}"
                )
                if not exact:
                    failures.append(f"{name}: Redis counted {hits}, {result.ok} got 2xx")
    failures += ratios(rates)
    for failure in failures:
        print(f"FAILED: {failure}")
    return 1 if failures else 0


def ratios(rates: dict[str, float]) -> list[str]:
    """Print each target ratio; return the ones missed."""
    failures = []
    mine = "page-tracker serve (granian)"
    for numerator, denominator, target in (
        (f"{mine}, GET /", "seed on gunicorn (defaults), GET /", 3.0),
        (f"{mine}, GET /", "seed on flask run, GET /", 5.0),
        (f"{mine}, GET /hit/bench/home", f"{mine}, GET /", 0.85),
        (f"{mine}, GET /badge/bench/badge.svg", f"{mine}, GET /", 0.85),
    ):
        ratio = rates[numerator] / rates[denominator]
        verdict = "meets" if ratio >= target else "MISSES"
        print(f"{numerator} / {denominator}: {ratio:.2f}x ({verdict} the {target:g}x target)")
        if ratio < target:
            failures.append(f"{numerator} / {denominator} is {ratio:.2f}x, below {target:g}x")
    return failures


if __name__ == "__main__":
    sys.exit(main())
