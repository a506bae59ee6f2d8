"""Bounded load on loopback: wrk when installed, else a Python generator; counts are exact."""

import http.client
import os
import re
import shutil
import socket
import statistics
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

BOUNDED_LUA = Path(__file__).with_name("bounded.lua")
THREADS = 2
CONNECTIONS = 16
MAX_REQUESTS = 500_000


@dataclass(frozen=True)
class Result:
    """What one load run measured."""

    responses: int
    ok: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int

    @property
    def rate(self) -> float:
        """Return answered requests per second."""
        return self.responses / self.seconds


@dataclass(frozen=True)
class Request:
    """One request, sent over and over."""

    url: str
    method: str = "GET"
    body: str = ""
    content_type: str = ""
    headers: tuple[tuple[str, str], ...] = ()


def wait_for_port(port: int, process: subprocess.Popen[bytes]) -> None:
    """Return once something listens on `port`; raise if `process` exits or 30 s pass."""
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


def tool() -> str:
    """Name the load generator this machine will use."""
    return "wrk" if shutil.which("wrk") else "python"


def run(request: Request, seconds: float) -> Result:
    """Send requests for `seconds` (at most MAX_REQUESTS), wait for every answer, measure."""
    if shutil.which("wrk"):
        return _wrk(request, seconds)
    return _python(request, seconds)


def run_mix(base: str, headers: tuple[tuple[str, str], ...], seconds: float) -> Result:
    """Send bounded.lua's mix of hits and beacons to the server at `base` (wrk only)."""
    return _run_wrk(Request(base + "/", headers=headers), seconds, ["MIX"])


def run_paced(request: Request, seconds: float, rate: float) -> Result:
    """Send `request` at `rate` requests a second in all, for `seconds` (wrk only).

    Latency at a set rate, below the peak, is what a client sees on a server that keeps up.
    """
    return _run_wrk(request, seconds, [], {"BENCH_RATE": f"{rate / THREADS:.3f}"})


def _wrk(request: Request, seconds: float) -> Result:
    with tempfile.NamedTemporaryFile("w", suffix=".body") as body:
        body.write(request.body)
        body.flush()
        extra = [request.method, body.name, request.content_type] if request.method != "GET" else []
        return _run_wrk(request, seconds, extra)


def _run_wrk(
    request: Request, seconds: float, extra: list[str], env: dict[str, str] | None = None
) -> Result:
    # wrk runs two seconds longer than the script sends, so every answer in flight arrives.
    command = [
        "wrk", f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{seconds + 2:.0f}s", "--timeout", "2s",
        *(f"--header={name}: {value}" for name, value in request.headers),
        "-s", str(BOUNDED_LUA), request.url, "--", str(seconds), str(MAX_REQUESTS // THREADS),
        *extra,
    ]  # fmt: skip
    output = subprocess.run(
        command, capture_output=True, text=True, check=True, env={**os.environ, **(env or {})}
    ).stdout
    match = re.search(
        r"RESULT responses=(\d+) ok=(\d+) seconds=([\d.]+) p50_us=(\d+) p99_us=(\d+) errors=(\d+)",
        output,
    )
    if match is None:
        raise RuntimeError(f"wrk printed no result:\n{output}")
    responses, ok, elapsed, p50, p99, errors = match.groups()
    return Result(
        int(responses), int(ok), float(elapsed), int(p50) / 1000, int(p99) / 1000, int(errors)
    )


def _python(request: Request, seconds: float) -> Result:
    parts = urlsplit(request.url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    headers = dict(request.headers)
    if request.content_type:
        headers["Content-Type"] = request.content_type
    deadline = time.monotonic() + seconds
    latencies: list[float] = []
    statuses: list[int] = []
    errors = [0]
    lock = threading.Lock()

    def worker(count: int) -> None:
        connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, 5)
        mine: list[tuple[float, int]] = []
        for _ in range(count):
            if time.monotonic() > deadline:
                break
            started = time.perf_counter()
            try:
                connection.request(request.method, path, request.body or None, headers)
                response = connection.getresponse()
                response.read()
            except (OSError, http.client.HTTPException):
                with lock:
                    errors[0] += 1
                connection.close()
                continue
            mine.append((time.perf_counter() - started, response.status))
        connection.close()
        with lock:
            latencies.extend(latency for latency, _ in mine)
            statuses.extend(status for _, status in mine)

    workers = [
        threading.Thread(target=worker, args=(MAX_REQUESTS // CONNECTIONS,))
        for _ in range(CONNECTIONS)
    ]
    started = time.perf_counter()
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    seconds = time.perf_counter() - started
    percentiles = statistics.quantiles(latencies, n=100)
    return Result(
        responses=len(statuses),
        ok=sum(200 <= status < 300 for status in statuses),
        seconds=seconds,
        p50_ms=percentiles[49] * 1000,
        p99_ms=percentiles[98] * 1000,
        errors=errors[0],
    )
