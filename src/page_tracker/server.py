"""The production WSGI server: granian, with worker processes each running blocking threads."""

import os
import signal
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from multiprocessing.util import Finalize
from typing import Any

from flask import Flask
from granian.constants import Interfaces
from granian.log import LogLevels
from granian.server import Server

from page_tracker import exporter, logs
from page_tracker.app import create_app
from page_tracker.embedded import die_with_parent
from page_tracker.extensions import INBOX, METRICS
from page_tracker.metrics import Metrics
from page_tracker.store.connection import connect

# A worker that has not stopped this long after SIGTERM is killed.  Now and then, under load, a
# granian worker misses the stop signal altogether, and `serve` would otherwise wait for ever.
WORKER_STOP_S = 10


def _app_in_worker(_target: str) -> Flask:
    # Runs in each worker process.  If `serve` is killed outright, its workers exit too rather
    # than live on as orphans holding the port.  SIGKILL, not SIGTERM: now and then a worker
    # misses SIGTERM (see WORKER_STOP_S), and with `serve` gone nothing would kill it later.
    # What it answered and had not counted waits in Redis for the next `serve`.
    die_with_parent(signal.SIGKILL)
    app = create_app()
    # A worker is a multiprocessing child: atexit does not run there, its finalizers do.  So a
    # stopping worker counts the beacons it answered before it exits, writes its last access
    # lines, and leaves its last metrics for the exporter.
    Finalize(None, app.extensions[INBOX].flush, exitpriority=10)
    Finalize(None, logs.flush, exitpriority=5)
    metrics, directory = app.extensions[METRICS], os.environ.get(exporter.DIRECTORY)
    if isinstance(metrics, Metrics) and directory:
        exporter.keep_saving(metrics, directory)
        Finalize(None, exporter.save, (metrics, directory), exitpriority=0)
    return app


@contextmanager
def _metrics(host: str, config: Mapping[str, Any]) -> Iterator[None]:
    """Serve the workers' metrics on METRICS_PORT while the block runs, if it is set."""
    if not config["METRICS_PORT"]:
        yield
        return
    with (
        tempfile.TemporaryDirectory(prefix="page-tracker-metrics-") as directory,
        connect(config["REDIS_URL"], config["REDIS_TIMEOUT"]) as redis,
    ):
        os.environ[exporter.DIRECTORY] = directory  # the workers inherit it
        scraped, thread = exporter.start(
            host, config["METRICS_PORT"], exporter.registry(directory, lambda: redis)
        )
        try:
            yield
        finally:
            scraped.shutdown()
            thread.join()


def run(host: str, port: int, workers: int, threads: int, config: Mapping[str, Any]) -> None:
    """Serve the app until SIGINT or SIGTERM, then let requests in flight finish."""
    log_config = logs.configure(config["LOG_FORMAT"], config["LOG_LEVEL"])
    with _metrics(host, config):
        Server(
            "page_tracker.app:create_app",
            address=host,
            port=port,
            interface=Interfaces.WSGI,
            workers=workers,
            blocking_threads=threads,
            workers_kill_timeout=WORKER_STOP_S,
            # A worker that dies (killed, out of memory) is replaced; the others serve meanwhile,
            # and what it answered waits in Redis for them.
            respawn_failed_workers=True,
            # granian applies it in every worker: its lines and the app's look alike.
            log_dictconfig=log_config,
            log_level=LogLevels(config["LOG_LEVEL"].lower()),
        ).serve(target_loader=_app_in_worker)
