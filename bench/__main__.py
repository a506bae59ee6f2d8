"""`make bench`: page-tracker under load beside the seed app served the seed's two ways.

Every figure comes from this one run on this machine, and targets are ratios between them.
"""

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import redis
from test.ports import free_port

from bench import dashboard, live, loadgen, memory, mix
from page_tracker.embedded import RedisServer
from page_tracker.services import sites
from page_tracker.store import keys

BIN = Path(sys.executable).parent
WARMUP_S = 1.0
LOAD_S = 4.0
ROUNDS = 3


@dataclass(frozen=True, eq=False)  # a key by identity: its settings are a dict
class Server:
    """A way of serving an app, started as its own process on a port, with its settings."""

    name: str
    command: list[str]
    settings: Mapping[str, str] = field(default_factory=dict)
    # Serve metrics on a free port of their own.
    metrics: bool = False
    # Whether Redis counts what it answers (the ceiling counts nothing).
    counts: bool = True


MINE = "page-tracker serve, shipped defaults"
PLAIN = "page-tracker serve, metrics and access lines off"
UNLIMITED = "page-tracker serve, rate limits off"
CEILING = "empty RSGI app (ceiling)"
HIT = "GET /hit/bench/home"
HALF_PEAK = f"{MINE}, {HIT} at half its peak rate"
SERVE = [str(BIN / "page-tracker"), "serve"]
# The image's defaults: JSON logs with an access line per request, and metrics.
SHIPPED = {"PAGE_TRACKER_LOG_FORMAT": "json"}


def servers() -> list[Server]:
    """Return page-tracker as shipped and with one default off, the ceiling, and the seed.

    Every page-tracker server trusts one proxy, and the load says each request comes from an
    address of its own (bench/bounded.lua), so every request's budget is checked and none is
    refused.  The seed app is served the seed's two ways.
    """
    no_budgets = {"PAGE_TRACKER_RATE_LIMIT": "", "PAGE_TRACKER_VIEW_RATE_LIMIT": ""}
    ceiling = [str(BIN / "granian"), "--interface", "rsgi", "--loop", "uvloop", "--workers", "2",
               "--backlog", "4096", "bench.ceiling:app"]  # fmt: skip
    return [
        Server(MINE, SERVE, SHIPPED, metrics=True),
        Server(PLAIN, SERVE, {"PAGE_TRACKER_LOG_LEVEL": "WARNING"}),
        Server(UNLIMITED, SERVE, {**SHIPPED, **no_budgets}, metrics=True),
        Server(CEILING, ceiling, counts=False),
        Server("seed on gunicorn (defaults)", [str(BIN / "gunicorn"), "bench.seed_app:app"]),
        Server("seed on flask run", [str(BIN / "flask"), "--app", "bench.seed_app", "run"]),
    ]


def listen_arguments(server: Server, port: int) -> list[str]:
    if "gunicorn" in server.command[0]:
        return ["--bind", f"127.0.0.1:{port}"]
    return ["--port", str(port)]


@contextmanager
def running(server: Server, redis_url: str) -> Iterator[str]:
    """Start `server` against `redis_url`, yield its base URL, and stop it."""
    port = free_port()
    env = {
        **os.environ,
        "REDIS_URL": redis_url,
        "PAGE_TRACKER_PROXY_COUNT": "1",
        "PAGE_TRACKER_ADMIN_TOKEN": ADMIN_TOKEN,
        **server.settings,
    }
    if server.metrics:
        env["PAGE_TRACKER_METRICS_PORT"] = str(free_port())
    # Logs go to a file, as they would to a journal: writing them is part of the cost.
    with tempfile.TemporaryFile() as logged:
        process = subprocess.Popen(
            [*server.command, *listen_arguments(server, port)],
            env=env,
            stdout=logged,
            stderr=logged,
        )
        try:
            loadgen.wait_for_port(port, process)
            yield f"http://127.0.0.1:{port}"
        finally:
            process.terminate()
            process.wait(30)


ADMIN_TOKEN = "bench-admin-token"  # noqa: S105
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
BATCH = 1000
EVENTS_TARGET = 30_000  # events/s of batch ingest, on 2 cores with Redis on the same machine


@dataclass(frozen=True)
class Scenario:
    """A request to load, and where Redis counts what it did (`per` counts per request)."""

    method: str
    path: str
    key: str
    field: str | None
    body: str = ""
    content_type: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    per: int = 1
    # A list where requests wait to be counted: the run lasts until it is empty.
    inbox: str = ""

    def request(self, base: str) -> loadgen.Request:
        """Return the request to send to the server at `base`."""
        return loadgen.Request(
            base + self.path, self.method, self.body, self.content_type, self.headers
        )


def _batch_body() -> str:
    # A server's batch: 1000 views of 1000 pages by 200 visitors with 20 browsers.
    events = [
        {"site": "bench", "url": f"/page/{n}", "ip": f"10.1.{n % 200 // 100}.{n % 100}",
         "user_agent": CHROME.replace("131.0", f"13{n % 20}.0"),
         "referrer": f"https://ref{n % 30}.test/"}
        for n in range(BATCH)
    ]  # fmt: skip
    return json.dumps(events)


def scenarios() -> dict[str, Scenario]:
    """Return every load scenario by name, with where Redis counts it."""
    day = datetime.now(UTC).date()
    views = f"pt:{{bench}}:a:{day.isoformat()}:n"
    beacon = json.dumps({"site": "bench", "url": "https://bench.test/home",
                         "referrer": "https://news.example.org/", "width": 1280})  # fmt: skip
    return {
        "GET /": Scenario("GET", "/", "page_views", None),
        HIT: Scenario("GET", "/hit/bench/home", "pt:{bench}:c:home", "value"),
        "GET /badge/bench/badge.svg": Scenario(
            "GET", "/badge/bench/badge.svg", "pt:{bench}:c:badge", "value"
        ),
        "POST /api/event": Scenario(
            "POST", "/api/event", views, "views", beacon, "text/plain",
            (("User-Agent", CHROME), ("Origin", "https://bench.test")), inbox=keys.inbox("bench"),
        ),
        f"POST /api/events ({BATCH})": Scenario(
            "POST", "/api/events", views, "views", _batch_body(), "application/json",
            (("Authorization", f"Bearer {ADMIN_TOKEN}"),), per=BATCH,
        ),
    }  # fmt: skip


# The scenarios each page-tracker server runs; the others run GET / alone.
PLAN = {
    MINE: list(scenarios()),
    PLAIN: [HIT, "POST /api/event"],
    UNLIMITED: [HIT, "POST /api/event"],
}


# A load's result, and what Redis counted of it (None where nothing counts).
Run = tuple[loadgen.Result, int | None]


def settle(client: redis.Redis, scenario: Scenario) -> float:
    """Wait until every request of `scenario` is counted; return the seconds waited."""
    started = time.monotonic()
    while scenario.inbox and client.llen(scenario.inbox):
        if time.monotonic() - started > 30:
            raise RuntimeError(f"{scenario.inbox} was not drained in 30 s")
        time.sleep(0.005)
    return time.monotonic() - started


def counted(client: redis.Redis, scenario: Scenario) -> int:
    name, field = scenario.key, scenario.field
    value = client.hget(name, field) if field else client.get(name)
    return int(value or 0) // scenario.per


def measure(plan: dict[Server, list[str]], client: redis.Redis, redis_url: str) -> dict[str, Run]:
    """Load each server's scenarios ROUNDS times, interleaved; return the median run of each.

    Then load the shipped server's hit at half of its median rate, for its latency there.

    Every server runs at once (the idle ones cost nothing).  A ratio is only as good as the
    machine was steady: each round loads one scenario on every server back to back, and the
    median of the rounds keeps a passing disturbance from deciding it.
    """
    everything = scenarios()
    runs: dict[str, list[tuple[loadgen.Result, int | None]]] = {
        f"{server.name}, {name}": [] for server, names in plan.items() for name in names
    }

    def load(server: Server, scenario: Scenario, base: str, rate: float = 0) -> Run:
        request = scenario.request(base)
        loadgen.run(request, WARMUP_S)
        settle(client, scenario)
        before = counted(client, scenario)
        result = loadgen.run_paced(request, LOAD_S, rate) if rate else loadgen.run(request, LOAD_S)
        # Requests answered but not yet counted are part of the run: wait for them.
        result = replace(result, seconds=result.seconds + settle(client, scenario))
        return result, counted(client, scenario) - before if server.counts else None

    with ExitStack() as stack:
        bases = {server: stack.enter_context(running(server, redis_url)) for server in plan}
        for _ in range(ROUNDS):
            for name, scenario in everything.items():
                for server in (server for server, names in plan.items() if name in names):
                    runs[f"{server.name}, {name}"].append(load(server, scenario, bases[server]))
        medians = {
            name: sorted(results, key=lambda run: run[0].rate)[len(results) // 2]
            for name, results in runs.items()
        }
        # Latency as a client sees it when the server keeps up: the hit at half its peak.
        shipped = next(server for server in plan if server.name == MINE)
        peak = medians[f"{MINE}, {HIT}"][0].rate
        medians[HALF_PEAK] = load(shipped, everything[HIT], bases[shipped], peak / 2)
    return medians


def main() -> int:
    """Run every scenario, print the table and the ratios; exit 1 if a check or target fails."""
    print(f"load: {loadgen.tool()}, {loadgen.THREADS} threads, {loadgen.CONNECTIONS} connections")
    print(
        "configuration: page-tracker as shipped (rate limits on, metrics on, JSON access lines),"
        " 2 workers, behind one trusted proxy; every request from an address of its own"
    )
    failures: list[str] = []
    rates: dict[str, float] = {}
    with (
        tempfile.TemporaryDirectory() as data,
        RedisServer(Path(data), port=free_port(), persist=False) as redis_server,
        redis.Redis.from_url(redis_server.url) as client,
    ):
        site = sites.make_site("bench", ["bench.test"], created=int(time.time()))
        sites.add(client, site)
        print(f"{'server, request':82} {'requests':>9} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7}")
        plan = {server: PLAN.get(server.name, ["GET /"]) for server in servers()}
        for name, (result, hits) in measure(plan, client, redis_server.url).items():
            rates[name] = result.rate
            exact = hits is None or hits == result.ok
            tally = "" if hits is None else f"counted {hits} of {result.ok} 2xx "
            print(
                f"{name:82} {result.responses:9d} {result.rate:8.0f} {result.p50_ms:7.2f} "
                f"{result.p99_ms:7.2f}  {tally}{'ok' if exact else 'WRONG'}"
            )
            if not exact:
                failures.append(f"{name}: Redis counted {hits}, {result.ok} got 2xx")
    failures += ratios(rates)
    print(memory.report())
    figures, missed = dashboard.report()
    print(figures)
    failures += missed
    print(live.report())
    figures, missed = mix.report()
    print(figures)
    failures += missed
    for failure in failures:
        print(f"FAILED: {failure}")
    return 1 if failures else 0


def ratios(rates: dict[str, float]) -> list[str]:
    """Print each target ratio; return the ones missed."""
    failures = []
    mine = MINE
    hit, badge, beacon = HIT, "GET /badge/bench/badge.svg", "POST /api/event"
    for numerator, denominator, target in (
        (f"{mine}, GET /", "seed on gunicorn (defaults), GET /", 3.0),
        (f"{mine}, GET /", "seed on flask run, GET /", 5.0),
        (f"{mine}, {hit}", f"{CEILING}, GET /", 0.3),
        (f"{mine}, {badge}", f"{CEILING}, GET /", 0.3),
        (f"{mine}, {beacon}", f"{CEILING}, GET /", 0.3),
        (f"{mine}, {hit}", f"{mine}, GET /", 0.85),
        (f"{mine}, {badge}", f"{mine}, GET /", 0.85),
        (f"{mine}, {beacon}", f"{mine}, GET /", 0.8),
        (f"{mine}, {hit}", f"{PLAIN}, {hit}", 0.95),
        (f"{mine}, {beacon}", f"{PLAIN}, {beacon}", 0.95),
        (f"{mine}, {hit}", f"{UNLIMITED}, {hit}", 0.9),
        (f"{mine}, {beacon}", f"{UNLIMITED}, {beacon}", 0.9),
    ):
        ratio = rates[numerator] / rates[denominator]
        verdict = "meets" if ratio >= target else "MISSES"
        print(f"{numerator} / {denominator}: {ratio:.2f}x ({verdict} the {target:g}x target)")
        if ratio < target:
            failures.append(f"{numerator} / {denominator} is {ratio:.2f}x, below {target:g}x")
    events = rates[f"{mine}, POST /api/events ({BATCH})"] * BATCH
    verdict = "meets" if events >= EVENTS_TARGET else "MISSES"
    print(f"batch ingest: {events:,.0f} events/s ({verdict} the {EVENTS_TARGET:,} events/s target)")
    if events < EVENTS_TARGET:
        failures.append(f"batch ingest is {events:,.0f} events/s, below {EVENTS_TARGET:,}")
    return failures


if __name__ == "__main__":
    sys.exit(main())
