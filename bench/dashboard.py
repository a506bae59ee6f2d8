"""Server time to render a site's dashboard over 12 months, at two traffic levels.

Run with `python -m bench.dashboard` (part of `make bench`).
"""

import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import redis
from flask.testing import FlaskClient
from test.ports import free_port

from bench import memory
from page_tracker.app import create_app
from page_tracker.embedded import RedisServer
from page_tracker.services import sites

DAYS = 365
RENDERS = 15
TARGET_MS = 300.0
ADMIN_TOKEN = "bench-admin-token"  # noqa: S105
LEVELS = {"small": 100_000, "big": 1_000_000}


def render_ms(client: FlaskClient, name: str) -> float:
    """Return the median server time, in ms, of RENDERS renders of the 12-month page."""
    times = []
    for _ in range(RENDERS):
        started = time.perf_counter()
        answer = client.get(f"/dashboard/sites/{name}?range=12m")
        times.append((time.perf_counter() - started) * 1000)
        if answer.status_code != 200:
            raise RuntimeError(f"the dashboard answered {answer.status_code}")
    return statistics.median(times)


def report() -> tuple[str, list[str]]:
    """Return the figures and the targets missed."""
    with (
        tempfile.TemporaryDirectory() as data,
        RedisServer(Path(data), port=free_port(), persist=False) as server,
        redis.Redis.from_url(server.url, decode_responses=True) as client,
    ):
        start = datetime.now(UTC).replace(hour=0, minute=0, second=0) - timedelta(days=DAYS - 1)
        for name, views in LEVELS.items():
            site = sites.make_site(name, ["memory.test"], retention_days=400, created=1)
            sites.add(client, site)
            memory.fill(client, site, start, views=views, days=DAYS)
        app = create_app({"REDIS_URL": server.url, "ADMIN_TOKEN": ADMIN_TOKEN, "RATE_LIMIT": ""})
        browser = app.test_client()
        page = browser.get("/dashboard/login").text
        token = page.split('name="csrf_token" value="')[1].split('"')[0]
        browser.post("/dashboard/login", data={"token": ADMIN_TOKEN, "csrf_token": token})
        medians = {name: render_ms(browser, name) for name in LEVELS}
    big, small = medians["big"], medians["small"]
    lines = [
        f"dashboard, 12 months of {views:,} views of {memory.PAGES:,} pages: median "
        f"{medians[name]:.0f} ms server time over {RENDERS} renders"
        for name, views in LEVELS.items()
    ]
    lines.append(f"dashboard: 10x the views costs {big / small:.2f}x the time")
    failures = [] if big < TARGET_MS else [f"dashboard renders in {big:.0f} ms, over {TARGET_MS:g}"]
    verdict = "meets" if not failures else "MISSES"
    lines.append(f"dashboard: {big:.0f} ms ({verdict} the {TARGET_MS:g} ms target)")
    return "\n".join(lines), failures


if __name__ == "__main__":
    print(report()[0])
