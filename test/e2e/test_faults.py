"""Faults under load, with real processes: Redis killed or full, a web worker killed.

Nothing acknowledged may be lost, nothing counted twice, an outage answers fast 503s, and the
service recovers without a restart.
"""

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psutil
import pytest
import redis
import requests

from page_tracker.embedded import RedisServer
from page_tracker.store import keys
from test.e2e.serving import Serve, ServeProcess
from test.ports import free_port

pytestmark = pytest.mark.slow
TOKEN = "faults-admin-token"  # noqa: S105
ADMIN = {"Authorization": f"Bearer {TOKEN}"}
BEACON = '{"site": "faults", "url": "https://faults.test/"}'
BROWSER = {"Content-Type": "text/plain", "User-Agent": "Mozilla/5.0 Firefox/120.0"}
# "A fast 503": a refused Redis must not hold a request much longer than its timeout (0.5 s).
FAST_S = 1.0


@pytest.fixture(autouse=True)
def _local_only(outside_deployment: bool) -> None:
    if outside_deployment:
        pytest.skip("starts its own servers; not for an outside deployment")


@dataclass
class Tally:
    """What one kind of request got: answers that acknowledged, and every attempt."""

    acknowledged: int = 0
    sent: int = 0
    slowest_refusal_s: float = 0.0
    refusals: list[int] = field(default_factory=list)


def load(url: str, send: Callable[[requests.Session, str], int], ok: int, tally: Tally,
         stop: threading.Event) -> None:  # fmt: skip
    deadline = time.monotonic() + 30  # bounded, whatever happens to the servers
    with requests.Session() as session:
        while not stop.is_set() and time.monotonic() < deadline:
            started = time.monotonic()
            tally.sent += 1
            try:
                status = send(session, url)
            except requests.RequestException:
                continue
            if status == ok:
                tally.acknowledged += 1
            else:
                tally.refusals.append(status)
                tally.slowest_refusal_s = max(tally.slowest_refusal_s, time.monotonic() - started)


def _hit(session: requests.Session, url: str) -> int:
    return session.get(f"{url}/hit/faults/home", timeout=5).status_code


def _seed(session: requests.Session, url: str) -> int:
    return session.get(f"{url}/", timeout=5).status_code


def _beacon(session: requests.Session, url: str) -> int:
    return session.post(f"{url}/api/event", data=BEACON, headers=BROWSER, timeout=5).status_code


# Each kind of request, and the status that acknowledges it.
def _stats(session: requests.Session, url: str) -> int:
    # A Flask view, answered in the worker's thread pool rather than on its event loop.
    return session.get(f"{url}/api/sites/faults/stats", headers=ADMIN, timeout=5).status_code


SENDERS = {
    "hit": (_hit, 200),
    "seed": (_seed, 200),
    "beacon": (_beacon, 202),
    "stats": (_stats, 200),
}


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    with RedisServer(tmp_path, port=free_port(), persist=True) as server:
        yield server


def served(start_server: Serve, redis_url: str, *args: str) -> ServeProcess:
    server = start_server(list(args), {**os.environ, "REDIS_URL": redis_url,
                                "PAGE_TRACKER_ADMIN_TOKEN": TOKEN, "PAGE_TRACKER_RATE_LIMIT": "",
                                "PAGE_TRACKER_VIEW_RATE_LIMIT": ""})  # fmt: skip
    site = {"name": "faults", "domains": ["faults.test"]}
    requests.post(f"{server.url}/api/sites", json=site, headers=ADMIN, timeout=5)
    return server


def under_load(url: str, kinds: list[str], fault: Callable[[], None]) -> list[Tally]:
    """Load `url` with a sender of each kind, cause `fault` meanwhile; return their tallies."""
    tallies = [Tally() for _ in kinds]
    stop = threading.Event()
    threads = [threading.Thread(target=load, args=(url, *SENDERS[kind], tally, stop))
               for kind, tally in zip(kinds, tallies, strict=True)]  # fmt: skip
    for thread in threads:
        thread.start()
    # Long enough on either side of the fault for dozens of answers even on a busy machine
    # (the whole suite runs the servers under coverage).
    time.sleep(1.0)
    fault()
    time.sleep(1.5)
    stop.set()
    for thread in threads:
        thread.join()
    return tallies


def views(url: str) -> int:
    """Return the site's views of today, after a read has counted what waits."""
    stats = requests.get(f"{url}/api/sites/faults/stats", headers=ADMIN, timeout=10)
    stats.raise_for_status()
    return int(stats.json()["totals"]["views"])


def kill_and_restart(server: RedisServer) -> Callable[[], None]:
    """Return a fault: `server` killed, and started again a second later."""

    def fault() -> None:
        assert server.process is not None
        server.process.kill()  # SIGKILL: no chance to write anything more
        server.process.wait()
        server.process = None
        time.sleep(1.0)  # the outage: requests meanwhile must get fast 503s
        server.start()

    return fault


def settled_views(url: str, redis_url: str) -> int:
    """Return the site's views once its inbox is empty (within 20 s)."""
    deadline = time.monotonic() + 20
    with redis.Redis.from_url(redis_url) as client:
        while client.llen(keys.inbox("faults")) and time.monotonic() < deadline:
            views(url)  # each read counts what waits, unless another drainer holds the lock
            time.sleep(0.5)
    return views(url)


def test_redis_killed_and_restarted_under_mixed_load_loses_nothing(
    own_redis: RedisServer, start_server: Serve
) -> None:
    server = served(start_server, own_redis.url)
    hits, seed, beacons = under_load(
        server.url, ["hit", "seed", "beacon"], kill_and_restart(own_redis)
    )
    with redis.Redis.from_url(own_redis.url, decode_responses=True) as client:
        counted = {
            "hits": int(client.hget("pt:{faults}:c:home", "value") or 0),
            "seed": int(client.get(keys.PAGE_VIEWS) or 0),
        }
    # A drainer that held an inbox's lock when Redis died leaves the lock behind: what it took
    # is counted at that drainer's next round (after its pause) or once the lock lapses (10 s),
    # and a read before then does not see it.
    counted["beacons"] = settled_views(server.url, own_redis.url)
    # Every acknowledged request counted; one whose answer was lost in the crash may have
    # counted too, but nothing counts more often than it was sent.
    for name, tally in (("hits", hits), ("seed", seed), ("beacons", beacons)):
        assert tally.acknowledged <= counted[name] <= tally.sent, name
    for tally in (hits, seed, beacons):
        assert tally.refusals, "the outage was not seen"
        assert set(tally.refusals) == {503}
        assert tally.slowest_refusal_s < FAST_S
        assert tally.acknowledged > 50


def test_views_in_the_thread_pool_answer_503_fast_in_an_outage_and_recover(
    own_redis: RedisServer, start_server: Serve
) -> None:
    server = served(start_server, own_redis.url)
    (stats,) = under_load(server.url, ["stats"], kill_and_restart(own_redis))
    assert stats.refusals, "the outage was not seen"
    assert set(stats.refusals) == {503}
    assert stats.slowest_refusal_s < FAST_S
    assert stats.acknowledged > 10
    assert _stats(requests.Session(), server.url) == 200


FILLERS = 256  # x 16 KiB: 4 MiB
HEADROOM = 2 * 1024 * 1024


def fill(client: redis.Redis) -> int:
    """Fill Redis past its memory limit with 16 KiB keys; return how many it holds.

    The limit is then set 2 MiB below what Redis uses.  Setting it just above, and writing
    until a write was refused, left Redis a few KiB from the edge: freed client buffers let a
    later small write through now and then.
    """
    client.config_set("maxmemory-policy", "noeviction")
    for filler in range(FILLERS):
        client.set(f"filler:{filler}", b"x" * 16 * 1024)
    used = int(client.info("memory")["used_memory"])
    client.config_set("maxmemory", used - HEADROOM)
    with pytest.raises(redis.exceptions.OutOfMemoryError):
        client.set("filler:refused", b"x")
    return FILLERS


def test_a_full_redis_answers_503_writes_nothing_half_and_recovers(
    own_redis: RedisServer, start_server: Serve
) -> None:
    server = served(start_server, own_redis.url)
    hit = f"{server.url}/hit/faults/full"
    assert requests.get(hit, timeout=5).json() == {"value": 1}
    with redis.Redis.from_url(own_redis.url) as client:
        filler = fill(client)
        before = client.hgetall("pt:{faults}:c:full")
        answers = [requests.get(hit, timeout=5) for _ in range(3)]
        assert [answer.status_code for answer in answers] == [503] * 3
        assert all("Retry-After" in answer.headers for answer in answers)
        assert "full" in answers[0].json()["message"]
        assert client.hgetall("pt:{faults}:c:full") == before  # not a field written
        client.delete(*[f"filler:{n}" for n in range(filler)])
    assert requests.get(hit, timeout=5).json() == {"value": 2}


def test_a_web_worker_killed_under_beacon_load_loses_no_view(
    redis_server: RedisServer, start_server: Serve
) -> None:
    with redis.Redis.from_url(redis_server.url) as client:
        client.flushall()
    server = served(start_server, redis_server.url, "--workers", "2")
    workers = [p for p in server.descendants() if "server" not in p.name()]
    assert len(workers) == 2

    def kill_a_worker() -> None:
        os.kill(workers[0].pid, signal.SIGKILL)

    tallies = under_load(server.url, ["beacon", "beacon"], kill_a_worker)
    acknowledged = sum(tally.acknowledged for tally in tallies)
    sent = sum(tally.sent for tally in tallies)
    assert acknowledged > 100
    assert not psutil.pid_exists(workers[0].pid) or workers[0].status() == psutil.STATUS_ZOMBIE
    with redis.Redis.from_url(redis_server.url, decode_responses=True) as client:
        # A view the dead worker took but had not counted waits in the inbox: a read counts it,
        # at the latest once its drain lock (10 s) has lapsed.
        deadline = time.monotonic() + 20
        while views(server.url) and client.llen(keys.inbox("faults")):
            assert time.monotonic() < deadline, "the dead worker's views were never counted"
            time.sleep(0.5)
        counted = views(server.url)
        # The view the worker was killed answering may have counted: taken, its answer lost.
        # Nothing counts more often than it was sent.
        assert acknowledged <= counted <= sent
        day = keys.day_counts("faults", datetime.now(UTC).date())
        assert int(client.hget(day, "views") or 0) == counted
