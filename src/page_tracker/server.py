"""The production WSGI server: granian, with worker processes each running blocking threads."""

import signal
from multiprocessing.util import Finalize

from flask import Flask
from granian.constants import Interfaces
from granian.server import Server

from page_tracker.app import create_app
from page_tracker.embedded import die_with_parent
from page_tracker.extensions import INBOX

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
    # stopping worker counts the beacons it answered before it exits.
    Finalize(None, app.extensions[INBOX].flush, exitpriority=10)
    return app


def run(host: str, port: int, workers: int, threads: int) -> None:
    """Serve the app until SIGINT or SIGTERM, then let requests in flight finish."""
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
    ).serve(target_loader=_app_in_worker)
