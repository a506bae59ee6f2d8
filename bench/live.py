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
from test.ports import free_port

from bench.loadgen import wait_for_port
from page_tracker.embedded import RedisServer

CLIENTS = 8
TOKEN = "live-bench-admin-token"  # noqa: S105


def _signed_in(base: str) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{base}/dashboard/login", timeout=5).text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    session.post(f"{base}/dashboard/login", data={"token": TOKEN, "csrf_token": csrf}, timeout=5)
    requests.post(f"{base}/api/sites", json={"name": "live", "domains": ["live.test"]},
                  headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5)  # fmt: skip
    return session


def _open(port: int, cookie: str) -> tuple[socket.socket, bytes]:
    """Open a live stream as a browser would; return the socket and its first bytes."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(
        f"GET /dashboard/sites/live/live HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\n"
        "Accept: text/event-stream\r\n\r\n".encode()
    )
    first = b""
    while b"event: " not in first:
        first += sock.recv(4096)
    return sock, first


def report() -> str:
    """Open CLIENTS streams at once; count those held; drop one and time its replacement."""
    with (
        tempfile.TemporaryDirectory() as data,
        RedisServer(Path(data), port=free_port(), persist=False) as redis_server,
    ):
        port = free_port()
        # One stream a worker, so that the cap and a vanished client's freeing show with a few.
        env = {**os.environ, "REDIS_URL": redis_server.url, "PAGE_TRACKER_ADMIN_TOKEN": TOKEN,
               "PAGE_TRACKER_LIVE_STREAMS": "1"}  # fmt: skip
        server = subprocess.Popen(
            [str(Path(sys.executable).with_name("page-tracker")), "serve", "--port", str(port)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            wait_for_port(port, server)
            base = f"http://127.0.0.1:{port}"
            session = _signed_in(base)
            cookie = "; ".join(f"{k}={v}" for k, v in session.cookies.items())
            with ThreadPoolExecutor(CLIENTS) as pool:
                streams = list(pool.map(lambda _: _open(port, cookie), range(CLIENTS)))
            held = [sock for sock, first in streams if b"event: ready" in first]
            refused = sum(b"event: busy" in first for _, first in streams)
            # Clients that vanish: their connections end without a word.
            for sock in held:
                sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            started = time.monotonic()
            while True:
                sock, first = _open(port, cookie)
                sock.close()
                if b"event: ready" in first:
                    break
                time.sleep(0.1)
            freed = time.monotonic() - started
            for sock, _ in streams:
                sock.close()
        finally:
            server.terminate()
            server.wait(30)
    return (
        f"live streams (PAGE_TRACKER_LIVE_STREAMS=1, not the default 2000): {len(held)} of "
        f"{CLIENTS} held at once by one instance (2 workers), "
        f"{refused} sent to polling; a vanished client's stream was free for another in "
        f"{freed:.1f} s"
    )


if __name__ == "__main__":
    print(report())
