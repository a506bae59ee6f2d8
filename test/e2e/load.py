"""Load and memory as the e2e tests measure them: wrk's rate of /hit, the workers' RSS."""

import re
import shutil
import subprocess

from test.e2e.serving import ServeProcess

WRK = shutil.which("wrk") or "/usr/bin/wrk"
MEGABYTE = 1024 * 1024


def hit_rate(url: str, seconds: int = 2) -> float:
    """Return the rate wrk gets from /hit with 8 connections over `seconds`."""
    out = subprocess.run(
        [WRK, "-t1", "-c8", f"-d{seconds}s", "--timeout", "2s", f"{url}/hit/slowtest/page"],
        capture_output=True,
        text=True,
        timeout=seconds + 10,
        check=True,
    ).stdout
    assert "Non-2xx" not in out, out
    found = re.search(r"Requests/sec:\s+([\d.]+)", out)
    assert found, out
    return float(found.group(1))


def rss(server: ServeProcess) -> int:
    """Return the resident memory of serve's workers, in bytes."""
    return sum(p.memory_info().rss for p in server.descendants() if "server" not in p.name())


def best_hit_rate(url: str, runs: int = 2) -> float:
    """Return the best of `runs` runs: this machine's rate moves by a tenth between runs."""
    return max(hit_rate(url) for _ in range(runs))
