"""How many live dashboard streams one `page-tracker serve` holds, and how fast a vanished
client's stream is freed. Run with `python -m bench.live` (part of `make bench`)."""

import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from bench.__main__ import wait_for_port
from page_tracker.embedded import RedisServer, free_port

CLIENTS = 8
TOKEN = "live-bench"  # noqa: S105


def _signed_in(base: str) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{base}/dashboard/login", timeout=5).text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    session.post(f"{base}/dashboard/login", data={"token": TOKEN, "csrf_token": csrf}, timeout=5)
    requests.post(f"{base}/api/sites", json={"name": "live", "domains": ["live.test"]},
                  headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5)  # fmt: skip
    return session


def report() -> str:
    """Open CLIENTS streams at once; count those held; drop one and time its replacement."""
    with (
        tempfile.TemporaryDirectory() as data,
        RedisServer(Path(data), port=free_port(), persist=False) as redis_server,
    ):
        port = free_port()
        env = {**os.environ, "REDIS_URL": redis_server.url, "PAGE_TRACKER_ADMIN_TOKEN": TOKEN}
        server = subprocess.Popen(
            [str(Path(sys.executable).with_name("page-tracker")), "serve", "--port", str(port)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            wait_for_port(port, server)
            base = f"http://127.0.0.1:{port}"
            session = _signed_in(base)
            url = f"{base}/dashboard/sites/live/live"
            with ThreadPoolExecutor(CLIENTS) as pool:
                streams = list(pool.map(lambda _: session.get(url, stream=True, timeout=10),
                                        range(CLIENTS)))  # fmt: skip
            held = [s for s in streams if s.status_code == 200]
            refused = sum(s.status_code == 503 for s in streams)
            # Clients that vanish: their sockets close without a word.
            for stream in held:
                stream.raw._fp.fp.raw._sock.shutdown(socket.SHUT_RDWR)
            started = time.monotonic()
            while session.get(url, stream=True, timeout=10).status_code != 200:
                time.sleep(0.1)
            freed = time.monotonic() - started
            for stream in streams:
                stream.close()
        finally:
            server.terminate()
            server.wait(30)
    return (
        f"live streams: {len(held)} of {CLIENTS} held at once by one instance (2 workers), "
        f"{refused} sent to polling; a vanished client's stream was free for another in "
        f"{freed:.1f} s"
    )


if __name__ == "__main__":
    print(report())
