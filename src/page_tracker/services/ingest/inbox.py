"""Page views from browsers wait in their site's inbox; drainers count them in batches.

A beacon is answered once its view, checked and classified, is safely in Redis (one RPUSH);
counting it into a dozen keys is then done for many views at once, which costs a fraction of
counting each alone.  Records hold what a plan needs and nothing identifying: no IP, no
User-Agent, only the keyed visitor hash.  Every read of a site's figures drains its inbox first,
so figures never miss a view that was answered.
"""

import logging
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import NamedTuple, Protocol

from redis import Redis

from page_tracker.services.ingest import records
from page_tracker.services.ingest.plans import admitted_plan
from page_tracker.services.ingest.visits import Visit
from page_tracker.services.sites import Site, UnknownSiteError
from page_tracker.store import analytics as store
from page_tracker.store.budgets import Charge, Spent
from page_tracker.store.calls import Call

log = logging.getLogger(__name__)

BATCH = 1000
# How often a worker drains the inboxes it filled, and how often every site's.
INTERVAL_S = 0.1
SWEEP_S = 30.0
# How long a read waits for another worker's drain to finish before it reads anyway.
READ_WAIT_S = 2.0
# After a failed round the drainer waits longer each time, up to this, so an outage is not
# answered with a storm of retries and log lines.
MAX_PAUSE_S = 5.0
# How long a stopping worker spends counting what it answered (granian kills it after 10 s).
FLUSH_S = 5.0


class DrainWatch(Protocol):
    """What is told of the drains."""

    def drained(self, records: int, set_aside: int) -> None:
        """Take how many records a drained batch counted, and how many it set aside."""

    def drain_failed(self) -> None:
        """Take a drain round that failed."""


def queue(visit: Visit, charge: Charge | None = None) -> Call[Spent | None]:
    """Return the Call that puts a checked, classified view in its site's inbox, spending `charge`.

    It reads as what was spent: a view over budget is not queued.
    """
    return store.queue(visit.view.site, records.encode(visit), charge)


def drain(
    redis: Redis,
    site: Site,
    now: datetime,
    *,
    wait_s: float = 0.0,
    watch: DrainWatch | None = None,
    holder: str | None = None,
) -> bool:
    """Count every view that waits in the site's inbox when this is called (at `now`).

    If another worker is draining it, wait up to `wait_s` for it to finish and then drain
    what is left.  Return False if the inbox was still another's when the wait ran out.
    Each batch drained is told to `watch`.  A `holder` (by default a new one) must never
    drain two inboxes at once: it may take again a lock it left behind.
    """
    holder = holder or secrets.token_hex(8)
    deadline = time.monotonic() + wait_s
    while True:
        taken = store.take(redis, site.name, holder, BATCH)
        if taken is None:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)
            continue
        if not taken:
            return True
        visits, rejects = [], []
        for record in taken:
            try:
                visits.append(records.decode(site.name, record))
            except ValueError:
                # A record nothing can count would block the inbox forever: set it aside.
                log.exception("set aside an inbox record of site %s", site.name)
                rejects.append(record)
        if rejects:
            store.set_aside(redis, site.name, rejects)
        writes = admitted_plan(redis, site, visits)
        writes.taken = (site.name, holder, len(taken))
        # False: the lock expired mid-batch and another drainer counts these records instead.
        store.apply(redis, [writes], int(now.timestamp()))
        if watch is not None:
            watch.drained(len(visits), len(rejects))
        if len(taken) < BATCH:  # the rest came in meanwhile: the next round counts it
            return True


class Backlog(NamedTuple):
    """What waits in inboxes: how many records, and how long the oldest has waited."""

    waiting: int
    lag_s: float


def backlog(redis: Redis, names: Sequence[str], now: datetime) -> Backlog:
    """Return what waits in the inboxes of the sites `names` at `now`."""
    waiting, oldest = 0, now.timestamp()
    for count, first in store.backlog(redis, names):
        waiting += count
        when = records.time_of(first) if first is not None else None
        if when is not None:
            oldest = min(oldest, when)
    return Backlog(waiting, max(0.0, now.timestamp() - oldest))


def settle(redis: Redis, site: Site, now: datetime) -> None:
    """Count what waits in the site's inbox, so that a read sees every view answered so far."""
    drain(redis, site, now, wait_s=READ_WAIT_S)


class Drainer:
    """A worker's thread that drains the inboxes it filled, and now and then every site's.

    The sweep counts views that a worker left behind when it died.
    """

    def __init__(
        self,
        redis: Callable[[], Redis],
        clock: Callable[[], datetime],
        site: Callable[[Redis, str], Site],
        every_site: Callable[[Redis], Sequence[str]],
        watch: DrainWatch,
    ) -> None:
        self._redis, self._clock, self._site, self._every_site = redis, clock, site, every_site
        self._watch = watch
        self._filled: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # The drainer thread's own: after a failed round it takes back the locks it left.
        self._holder = secrets.token_hex(8)

    def filled(self, site: str) -> None:
        """Note that this worker put a view in `site`'s inbox; start draining if not yet."""
        with self._lock:
            self._filled.add(site)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="inbox-drainer", daemon=True)
                self._thread.start()

    def stop(self) -> None:
        """End the thread after its current round (what waits stays in Redis)."""
        self._stop.set()

    def flush(self, within_s: float = FLUSH_S) -> None:
        """End the thread, then count what this worker filled and has not counted yet.

        For a worker that is stopping: what it answered is counted now, not at the next sweep.
        Gives up after `within_s` (what is left waits in Redis for the sweep).
        """
        deadline = time.monotonic() + within_s
        self.stop()
        if self._thread is not None:
            self._thread.join(within_s)
        # A thread still draining keeps its holder: two drains must never share one.
        holder = None if self._thread is not None and self._thread.is_alive() else self._holder
        with self._lock:
            sites, self._filled = self._filled, set()
        for name in sorted(sites):
            left = deadline - time.monotonic()
            try:
                if left <= 0 or not self._drain(name, wait_s=left, holder=holder):
                    log.warning("stopped with views of %s still to count", name)
            except Exception:  # Redis is down, say: the views wait there for the sweep
                log.warning("stopped with views of %s still to count", name, exc_info=True)

    def _run(self) -> None:
        swept, pause, failing = time.monotonic(), INTERVAL_S, False
        while not self._stop.wait(pause):
            with self._lock:
                sites, self._filled = self._filled, set()
            try:
                if time.monotonic() - swept >= SWEEP_S:
                    swept = time.monotonic()
                    sites |= self._waiting()
                # A site another worker is draining is tried again next round.
                sites = {name for name in sites if not self._drain(name, holder=self._holder)}
            except Exception as error:  # Redis is down, say: the views wait there meanwhile
                self._watch.drain_failed()
                if not failing:
                    log.warning("inboxes not drained, trying again: %s", error, exc_info=True)
                failing, pause = True, min(pause * 2, MAX_PAUSE_S)
            else:
                if failing:
                    log.warning("inboxes drained again")
                failing, pause = False, INTERVAL_S
            with self._lock:
                self._filled |= sites

    def _waiting(self) -> set[str]:
        redis = self._redis()
        names = list(self._every_site(redis))
        counts = store.queued(redis, names)
        return {name for name, count in zip(names, counts, strict=True) if count}

    def _drain(self, name: str, *, wait_s: float = 0.0, holder: str | None = None) -> bool:
        redis = self._redis()
        try:
            site = self._site(redis, name)
        except UnknownSiteError:
            site = None
        if site is None:  # nothing to count its views by: they wait, and the log says so
            log.error("views wait in the inbox of %s, which is not a registered site", name)
            return True
        return drain(redis, site, self._clock(), wait_s=wait_s, watch=self._watch, holder=holder)
