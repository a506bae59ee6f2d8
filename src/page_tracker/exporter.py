"""/metrics on a port of its own, served by `serve` itself for Prometheus.

Each worker writes a snapshot of what it counted to a directory that `serve` makes and removes,
every SNAPSHOT_S and when it stops; at each scrape, `serve` adds the snapshots up, and reads
what Redis holds now (readiness, the inbox), which is the whole service's and so asked once,
not once per worker.
"""

import importlib.metadata
import json
import os
import shutil
import subprocess  # nosec B404 - runs git, found on PATH, for the build's revision
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from threading import Thread
from wsgiref.simple_server import WSGIServer

from prometheus_client import (
    CollectorRegistry,
    PlatformCollector,
    ProcessCollector,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from redis import Redis, RedisError

from page_tracker.metrics import NAMESPACE, SPECS, Metrics, Snapshot, add_up, families
from page_tracker.services import health

# Where workers write their snapshots: set by `serve` for the workers it starts.
DIRECTORY = "PAGE_TRACKER_METRICS_DIR"
# How often a worker writes what it counted: a scrape sees counts this old at most.
SNAPSHOT_S = 1.0
# Process metrics that describe the whole of `serve` as its first process does.
OF_SERVE = frozenset({"process_start_time_seconds", "process_max_fds"})


def save(metrics: Metrics, directory: str) -> None:
    """Write what this process counted to its snapshot file in `directory`, at once whole."""
    series = {
        name: [[list(labels), value] for labels, value in values.items()]
        for name, values in metrics.snapshot().items()
    }
    with tempfile.NamedTemporaryFile("w", dir=directory, suffix=".tmp", delete=False) as file:
        json.dump(series, file)
    Path(file.name).replace(Path(directory) / f"{os.getpid()}.json")


def keep_saving(metrics: Metrics, directory: str) -> None:
    """Save this process's snapshot every SNAPSHOT_S from a thread, for as long as it runs."""

    def run() -> None:
        while True:
            time.sleep(SNAPSHOT_S)
            save(metrics, directory)

    threading.Thread(target=run, name="metrics-snapshots", daemon=True).start()


def _loaded(path: Path) -> Snapshot:
    series = json.loads(path.read_text())
    return {name: {tuple(labels): value for labels, value in rows} for name, rows in series.items()}


@cache
def revision() -> str:
    """Return the git commit this code was built from: PAGE_TRACKER_REVISION, or git's answer."""
    if revision := os.environ.get("PAGE_TRACKER_REVISION"):
        return revision
    git = shutil.which("git")
    if git is None:
        return "unknown"
    found = subprocess.run(  # noqa: S603  # nosec B603 - a fixed command
        [git, "rev-parse", "HEAD"],
        cwd=Path(__file__).parent,
        capture_output=True,
        text=True,
        timeout=5,
        check=False,
    )
    commit = found.stdout.strip() if found.returncode == 0 else ""
    return commit or "unknown"


class State(Collector):
    """The build, and what Redis says now: whether it is ready, and what waits to be counted."""

    def __init__(self, redis: Callable[[], Redis]) -> None:
        self._redis = redis

    def collect(self) -> Iterable[Metric]:
        """Yield build info, Redis readiness and the inbox backlog (if Redis answers)."""
        build = GaugeMetricFamily(
            f"{NAMESPACE}_build_info", "The running version and git revision.",
            labels=("version", "revision"),
        )  # fmt: skip
        build.add_metric((importlib.metadata.version("page-tracker"), revision()), 1)
        yield build
        ready = GaugeMetricFamily(f"{NAMESPACE}_redis_ready", "1 if Redis answers, else 0.")
        try:
            redis = self._redis()
            health.check_redis(redis)
            waiting = health.backlog(redis, datetime.now(UTC))
        except RedisError:
            ready.add_metric((), 0)
            yield ready
            return
        ready.add_metric((), 1)
        yield ready
        yield GaugeMetricFamily(
            f"{NAMESPACE}_inbox_waiting_records", "Views answered and waiting to be counted.",
            value=waiting.waiting,
        )  # fmt: skip
        yield GaugeMetricFamily(
            f"{NAMESPACE}_inbox_lag_seconds", "How long the oldest view waiting has waited.",
            value=waiting.lag_s,
        )  # fmt: skip


class Workers(Collector):
    """What every worker counted: their snapshots added up (gauges of live workers only)."""

    def __init__(self, directory: str) -> None:
        self._directory = Path(directory)

    def collect(self) -> Iterable[Metric]:
        """Yield the families of every snapshot added up."""
        snapshots = []
        for path in self._directory.glob("*.json"):
            try:
                snapshot = _loaded(path)
            except (OSError, ValueError):  # removed meanwhile, say: it is read next time
                continue
            if not _alive(int(path.stem)):  # what a dead worker held open, it holds no more
                for name, spec in SPECS.items():
                    if spec.kind == "gauge":
                        snapshot.pop(name, None)
            snapshots.append(snapshot)
        return families(add_up(snapshots))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):  # gone, or its number is another user's now
        return False
    return True


class Processes(Collector):
    """The standard process metrics of `serve` and its workers together."""

    def collect(self) -> Iterable[Metric]:
        """Yield each process metric summed over the processes (start time: serve's)."""
        serve, *workers = [
            list(ProcessCollector(pid=_constant(pid), registry=None).collect())
            for pid in (os.getpid(), *_workers())
        ]
        for family in serve:
            if family.name not in OF_SERVE:
                for theirs in (other for worker in workers for other in worker):
                    if theirs.name == family.name:
                        family.samples = [
                            mine._replace(value=mine.value + their.value)
                            for mine, their in zip(family.samples, theirs.samples, strict=False)
                        ]
            yield family


def _constant(pid: int) -> Callable[[], int]:
    return lambda: pid


def _workers() -> list[int]:
    """Return the children of this process that run what it runs (not an embedded Redis)."""
    me = Path("/proc/self")
    try:
        command = (me / "cmdline").read_bytes()
        children = [
            int(pid)
            for task in (me / "task").iterdir()
            for pid in (task / "children").read_text().split()
        ]
    except OSError:  # not Linux: serve alone
        return []
    found = []
    for pid in children:
        try:
            if Path(f"/proc/{pid}/cmdline").read_bytes() == command:
                found.append(pid)
        except OSError:  # it just ended
            continue
    return found


def registry(directory: str, redis: Callable[[], Redis]) -> CollectorRegistry:
    """Return the registry `serve` answers scrapes from."""
    collected = CollectorRegistry()
    for collector in (Workers(directory), State(redis), Processes(), PlatformCollector(None)):
        collected.register(collector)
    return collected


def start(host: str, port: int, collected: CollectorRegistry) -> tuple[WSGIServer, Thread]:
    """Serve `collected` on http://host:port/metrics from a thread; return the server."""
    return start_http_server(port, host, collected)
