"""A production-like mix on the embedded default, with each of the costly defaults turned off.

Beacons over 5,000 pages and 300 referrers and hits over 20,000 keys, half and half, each
request from an address of its own (bench/bounded.lua).  Every `serve` runs at once with its
own embedded Valkey, as `make run` does; each round loads every one back to back, and the
median of the rounds is reported, with the RSS of the whole service after the last.
Run with `python -m bench.mix` (part of `make bench`).
"""

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import psutil
import requests
from test.ports import free_port

from bench import loadgen

ROUNDS = 3
LOAD_S = 4.0
TOKEN = "mix-bench-admin-token"  # noqa: S105
CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36"
HEADERS = (("User-Agent", CHROME), ("Origin", "https://bench.test"))
NO_BUDGETS = {"PAGE_TRACKER_RATE_LIMIT": "", "PAGE_TRACKER_VIEW_RATE_LIMIT": ""}
NO_ACCESS_LINES = {"PAGE_TRACKER_LOG_LEVEL": "WARNING"}
CONFIGURATIONS = {
    "shipped defaults": {},
    "rate limits off": NO_BUDGETS,
    "access lines off": NO_ACCESS_LINES,
    "both off": {**NO_BUDGETS, **NO_ACCESS_LINES},
}


@contextmanager
def serving(settings: dict[str, str]) -> Iterator[tuple[str, psutil.Process]]:
    """Run `serve` as the image does, on its embedded Valkey; yield its URL and process."""
    port = free_port()
    env = {key: value for key, value in os.environ.items() if key != "REDIS_URL"}
    env |= {
        "PAGE_TRACKER_LOG_FORMAT": "json",
        "PAGE_TRACKER_METRICS_PORT": str(free_port()),
        "PAGE_TRACKER_PROXY_COUNT": "1",
        "PAGE_TRACKER_ADMIN_TOKEN": TOKEN,
        **settings,
    }
    with tempfile.TemporaryDirectory() as data, tempfile.TemporaryFile() as logged:
        command = [str(Path(sys.executable).with_name("page-tracker")), "--data-dir", data]
        server = subprocess.Popen(
            [*command, "serve", "--port", str(port), "--no-sign-in-link"],
            env=env,
            stdout=logged,
            stderr=logged,
        )
        try:
            loadgen.wait_for_port(port, server)
            base = f"http://127.0.0.1:{port}"
            site = {"name": "bench", "domains": ["bench.test"]}
            admin = {"Authorization": f"Bearer {TOKEN}"}
            requests.post(f"{base}/api/sites", json=site, headers=admin, timeout=10)
            yield base, psutil.Process(server.pid)
        finally:
            server.terminate()
            server.wait(30)


def rss_mb(process: psutil.Process) -> float:
    """Return the resident memory of `process` and everything it started, in MiB."""
    tree = [process, *process.children(recursive=True)]
    return sum(part.memory_info().rss for part in tree) / 2**20


RSS_TARGET_MB = 256


def report() -> tuple[str, list[str]]:
    """Load the mix on every configuration; return the rates, ratios and RSS, and misses."""
    rates: dict[str, list[float]] = {name: [] for name in CONFIGURATIONS}
    with ExitStack() as stack:
        served = {
            name: stack.enter_context(serving(settings))
            for name, settings in CONFIGURATIONS.items()
        }
        for _ in range(ROUNDS):
            for name, (base, _) in served.items():
                rates[name].append(loadgen.run_mix(base, HEADERS, LOAD_S).rate)
        rss = rss_mb(served["shipped defaults"][1])
    median = {name: sorted(runs)[len(runs) // 2] for name, runs in rates.items()}
    shipped = median["shipped defaults"]
    lines = [
        f"mix, {name}: {rate:,.0f} req/s (shipped / this: {shipped / rate:.2f}x)"
        for name, rate in median.items()
    ]
    lines.append(
        f"mix: the shipped service (serve, 2 workers, Valkey) holds {rss:.0f} MiB RSS "
        f"(target: at most {RSS_TARGET_MB} MiB)"
    )
    missed = [f"the mix's service holds {rss:.0f} MiB"] if rss > RSS_TARGET_MB else []
    return "\n".join(lines), missed


if __name__ == "__main__":
    print(report()[0])
