"""Metrics and logs of a real `page-tracker serve`: its workers, a real Prometheus, JSON lines."""

import json
import os
import re
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from page_tracker import exporter
from test.e2e.serving import Serve, ServeProcess
from test.ports import free_port
from test.scrape import parse, value

pytestmark = pytest.mark.slow
PROMETHEUS = os.environ.get("PROMETHEUS", "/usr/bin/prometheus")
DASHBOARD = Path(__file__).parents[2] / "deploy" / "grafana" / "dashboards" / "page-tracker.json"
HIT = "/hit/<namespace>/<key>"


@pytest.fixture(autouse=True)
def _local_only(outside_deployment: bool) -> None:
    if outside_deployment:
        pytest.skip("starts its own server; not for an outside deployment")


def measured(
    start_server: Serve, redis_url: str, *args: str, **settings: str
) -> tuple[ServeProcess, str]:
    """Start serve with a metrics port; return it and its metrics URL."""
    port = free_port()
    env = {**os.environ, "REDIS_URL": redis_url, "PAGE_TRACKER_METRICS_PORT": str(port),
           "PAGE_TRACKER_RATE_LIMIT": "", **settings}  # fmt: skip
    return start_server(list(args), env), f"http://127.0.0.1:{port}/metrics"


def scraped(url: str) -> dict[Any, float]:
    return parse(requests.get(url, timeout=5).text)


def hit_from_threads(url: str, count: int, threads: int = 8) -> None:
    """Send `count` hits over `threads` connections of their own, at once."""

    def send(share: int) -> None:
        with requests.Session() as session:
            for _ in range(share):
                assert session.get(url, timeout=10).status_code == 200

    senders = [threading.Thread(target=send, args=(count // threads,)) for _ in range(threads)]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join()


def test_two_workers_add_up_in_one_scrape(
    start_server: Serve, e2e_redis_url: str, tmp_path: Path
) -> None:
    # serve makes its metrics directory in TMPDIR: here, where the test can read each file.
    server, metrics = measured(start_server, e2e_redis_url, "--workers", "2", TMPDIR=str(tmp_path))
    sent = 0
    per_worker: dict[str, float] = {}
    # Which worker takes a connection is the kernel's choice: send until both have taken some.
    while len(per_worker) < 2 or min(per_worker.values()) == 0:
        assert sent < 4000, f"one worker took every connection: {per_worker}"
        hit_from_threads(f"{server.url}/hit/metrics-e2e/workers", 160)
        sent += 160
        time.sleep(2 * exporter.SNAPSHOT_S)  # each worker has written what it counted
        per_worker = {
            path.stem: sum(value for _, value in json.loads(path.read_text())["hits"])
            for path in tmp_path.glob("page-tracker-metrics-*/*.json")
        }
    found = scraped(metrics)
    assert value(found, "page_tracker_hits_total") == sent == sum(per_worker.values())
    assert len(per_worker) == 2
    assert value(found, "page_tracker_requests_total", route=HIT, method="GET",
                 status="2xx") == sent  # fmt: skip
    assert value(found, "page_tracker_request_duration_seconds_count", route=HIT,
                 method="GET") == sent  # fmt: skip
    # The process metrics are those of serve and both workers together.
    assert value(found, "process_resident_memory_bytes") > 3 * 20_000_000
    server.stop()
    assert not list(tmp_path.glob("page-tracker-metrics-*")), "serve leaves no metrics files"


def test_metrics_are_on_their_own_port_only(start_server: Serve, e2e_redis_url: str) -> None:
    server, metrics = measured(start_server, e2e_redis_url)
    assert requests.get(f"{server.url}/metrics", timeout=5).status_code == 404
    assert "page_tracker_build_info" in requests.get(metrics, timeout=5).text


class Prometheus:
    """Debian's prometheus, started on a free loopback port to scrape one target each second."""

    def __init__(self, directory: Path, target: str) -> None:
        config = directory / "prometheus.yml"
        config.write_text(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
            "scrape_configs:\n  - job_name: page-tracker\n"
            f"    static_configs:\n      - targets: ['{target}']\n"
        )
        self.url = f"http://127.0.0.1:{free_port()}"
        self.log = (directory / "prometheus.log").open("w")
        self.process = subprocess.Popen(
            [PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={directory / 'data'}",
             f"--web.listen-address={self.url.removeprefix('http://')}"],
            stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip

    def query(self, expression: str) -> list[dict[str, Any]]:
        answer = requests.get(f"{self.url}/api/v1/query", params={"query": expression}, timeout=5)
        body = answer.json()
        assert body["status"] == "success", (expression, body)
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def wait_for(self, expression: str, wanted: float, timeout_s: float = 30) -> None:
        """Return once `expression` gives `wanted`; fail after `timeout_s`."""
        deadline, got = time.monotonic() + timeout_s, None
        while time.monotonic() < deadline:
            result = self.query(expression)
            got = float(result[0]["value"][1]) if result else None
            if got == wanted:
                return
            time.sleep(0.5)
        pytest.fail(f"{expression} is {got}, not {wanted}, after {timeout_s} s")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(30)
        self.log.close()


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[type[Prometheus]]:
    assert Path(PROMETHEUS).exists(), "make test installs Debian's prometheus; run it first"
    started: list[Prometheus] = []

    def start(target: str) -> Prometheus:
        server = Prometheus(tmp_path, target)
        started.append(server)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{server.url}/-/ready", timeout=1).ok:
                    return server
            except requests.ConnectionError:
                time.sleep(0.2)
        pytest.fail("prometheus did not become ready")

    yield start  # type: ignore[misc]
    for server in started:
        server.stop()


def grafana_expressions() -> list[str]:
    """Return every query of the Grafana dashboard, as Prometheus would receive it."""
    dashboard = json.loads(DASHBOARD.read_text())
    return [
        target["expr"].replace("$__rate_interval", "1m")
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
    ]


def test_a_real_prometheus_scrapes_the_hits_sent(
    start_server: Serve, e2e_redis_url: str, prometheus: Any
) -> None:
    server, metrics = measured(start_server, e2e_redis_url, "--workers", "2")
    scraper = prometheus(metrics.removeprefix("http://").removesuffix("/metrics"))
    scraper.wait_for('up{job="page-tracker"}', 1)
    key = f"scraped-{time.time_ns()}"
    before = value(scraped(metrics), "page_tracker_hits_total")
    hit_from_threads(f"{server.url}/hit/metrics-e2e/{key}", 40, threads=4)
    scraper.wait_for("sum(page_tracker_hits_total)", before + 40)
    scraper.wait_for("page_tracker_redis_ready", 1)
    # Every metric the Grafana dashboard reads exists, and each of its queries is valid PromQL.
    names = set(
        requests.get(f"{scraper.url}/api/v1/label/__name__/values", timeout=5).json()["data"]
    )
    for expression in grafana_expressions():
        scraper.query(expression)
        used = set(re.findall(r"\b((?:page_tracker|process)_[a-z_]+)", expression))
        assert used <= names, f"{expression} reads metrics nobody exposes: {used - names}"


def log_lines(server: ServeProcess) -> list[str]:
    """Return what serve logged after its banner (the lines it prints before serving)."""
    lines = server.logged().splitlines()
    first = next(index for index, line in enumerate(lines) if line.startswith("{"))
    return lines[first:]


def test_json_logs_carry_the_request_id_and_no_ip_or_user_agent(
    start_server: Serve, e2e_redis_url: str
) -> None:
    env = {**os.environ, "REDIS_URL": e2e_redis_url, "PAGE_TRACKER_LOG_FORMAT": "json",
           "PAGE_TRACKER_PROXY_COUNT": "1"}  # fmt: skip
    server = start_server([], env)
    agent = "Agent-Marker/7.7 (private)"
    sent_ids = []
    for path, forwarded in (("/hit/logs-e2e/key", "198.51.100.23"), ("/get/logs-e2e/key", "")):
        answer = requests.get(f"{server.url}{path}", timeout=5, headers={
            "User-Agent": agent, "X-Forwarded-For": forwarded or "203.0.113.9"})  # fmt: skip
        sent_ids.append(answer.headers["X-Request-ID"])
    chosen = requests.get(
        f"{server.url}/healthz", timeout=5, headers={"X-Request-ID": "from-proxy-1"}
    )
    assert chosen.headers["X-Request-ID"] == "from-proxy-1"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and "from-proxy-1" not in server.logged():
        time.sleep(0.1)
    lines = log_lines(server)
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    access = [record for record in records if record.get("logger") == "page_tracker.access"]
    # Each worker writes its lines in batches: lines of two workers need not be in order.
    assert all(record["request_id"] for record in access)
    by_id = {record["request_id"]: record for record in access}
    ours = [by_id[request_id] for request_id in [*sent_ids, "from-proxy-1"]]
    assert [(r["method"], r["route"], r["status"]) for r in ours] == [
        ("GET", "/hit/<namespace>/<key>", 200),
        ("GET", "/get/<namespace>/<key>", 200),
        ("GET", "/healthz", 200),
    ]
    assert all(r["duration_ms"] > 0 and r["bytes"] > 0 and r["timestamp"] for r in access)
    text = "\n".join(lines)
    for private in (agent, "198.51.100.23", "203.0.113.9", "127.0.0.1:"):
        assert private not in text.replace(f"Listening at: http://127.0.0.1:{server.port}", "")


def test_a_warning_carries_the_id_of_its_request(start_server: Serve) -> None:
    nobody = f"redis://127.0.0.1:{free_port()}"
    env = {**os.environ, "REDIS_URL": nobody, "PAGE_TRACKER_LOG_FORMAT": "json"}
    server = start_server(["--workers", "1"], env)
    answer = requests.get(f"{server.url}/readyz", timeout=5)
    assert answer.status_code == 503
    request_id = answer.headers["X-Request-ID"]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and server.logged().count(request_id) < 2:
        time.sleep(0.1)
    mine = [json.loads(line) for line in log_lines(server) if request_id in line]
    assert [(record["level"], record["event"][:25]) for record in mine] == [
        ("warning", "Readiness check failed: E"),
        ("info", "request"),
    ]


def test_text_logs_are_readable_lines(start_server: Serve, e2e_redis_url: str) -> None:
    server = start_server([], {**os.environ, "REDIS_URL": e2e_redis_url})
    request_id = requests.get(f"{server.url}/healthz", timeout=5).headers["X-Request-ID"]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and request_id not in server.logged():
        time.sleep(0.1)
    (line,) = [line for line in server.logged().splitlines() if request_id in line]
    assert re.fullmatch(
        rf"\S+Z \[info\s*\] request\s+\[page_tracker.access\] bytes=\d+ duration_ms=[\d.]+ "
        rf"method=GET request_id={request_id} route=/healthz status=200",
        line,
    ), line
