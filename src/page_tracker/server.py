"""The production server: granian's worker processes, each an event loop (web/serving/core.py)."""

import functools
import os
import signal
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from multiprocessing.util import Finalize
from typing import Any

from granian.constants import Interfaces, Loops
from granian.http import HTTP1Settings
from granian.log import LogLevels
from granian.server import Server

from page_tracker import exporter, logs
from page_tracker.app import create_app
from page_tracker.embedded import die_with_parent
from page_tracker.extensions import INBOX, METRICS
from page_tracker.metrics import Metrics
from page_tracker.store.connection import connect
from page_tracker.store.live import LiveFeed
from page_tracker.web import endpoints
from page_tracker.web.busy import fast
from page_tracker.web.serving.core import Core, answer_refusal
from page_tracker.web.serving.observed import Observed
from page_tracker.web.serving.streams import LiveStreams

# A worker that has not stopped this long after SIGTERM is killed.  Now and then, under load, a
# granian worker misses the stop signal altogether, and `serve` would otherwise wait for ever.
WORKER_STOP_S = 10
# Connections waiting to be accepted, and requests beside live streams that a worker holds.
BACKLOG = 4096
IN_FLIGHT = 1024


def _app_in_worker(threads: int, _target: str) -> Core:
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
    config = app.config
    feed = LiveFeed(config["REDIS_URL"], config["REDIS_TIMEOUT"])
    streams = LiveStreams(feed, config["LIVE_STREAMS"], config["LIVE_STREAM_SECONDS"], metrics)
    observed = app.wsgi_app
    if not isinstance(observed, Observed):
        raise TypeError("create_app puts Observed outermost, and the core relies on it")
    return Core(
        observed,
        endpoints.router(fast.RULES, app.url_map),
        streams,
        on_loop=app.on_loop,
        refusals=observed.around(answer_refusal),
        threads=threads,
        read_timeout_s=config["READ_TIMEOUT_S"],
        max_body=config["MAX_CONTENT_LENGTH"],
    )


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
            interface=Interfaces.RSGI,
            loop=Loops.uvloop,
            workers=workers,
            websockets=False,
            # granian's default (backlog / workers) would cap the requests a worker holds at
            # once below its live streams: every open dashboard is one.
            backlog=BACKLOG,
            backpressure=config["LIVE_STREAMS"] + IN_FLIGHT,
            # Headers not all sent in time are cut off; the core holds bodies to the same.
            http1_settings=HTTP1Settings(header_read_timeout=config["READ_TIMEOUT_S"] * 1000),
            workers_kill_timeout=WORKER_STOP_S,
            # A worker that dies (killed, out of memory) is replaced; the others serve meanwhile,
            # and what it answered waits in Redis for them.
            respawn_failed_workers=True,
            # granian applies it in every worker: its lines and the app's look alike.
            log_dictconfig=log_config,
            log_level=LogLevels(config["LOG_LEVEL"].lower()),
        ).serve(target_loader=functools.partial(_app_in_worker, threads))
