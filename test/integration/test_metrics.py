"""Redis metrics and the exporter's collectors, against real redis-servers."""

import importlib.metadata
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from prometheus_client import CollectorRegistry

from page_tracker import exporter
from page_tracker.embedded import RedisServer
from page_tracker.metrics import Metrics
from page_tracker.services import sites
from page_tracker.store import keys
from page_tracker.store.connection import connect
from test.ports import free_port
from test.scrape import scrape, value

SECONDS = "page_tracker_redis_command_duration_seconds"


@pytest.fixture
def measured() -> Metrics:
    return Metrics(CollectorRegistry())


def test_each_command_and_pipeline_is_timed_by_name(
    redis_client: redis.Redis, redis_server: RedisServer, measured: Metrics
) -> None:
    with connect(redis_server.url, 2, measured) as client:
        client.set("metrics:a", "1")
        assert client.get("metrics:a") == "1"
        assert client.get("metrics:b") is None
        pipe = client.pipeline(transaction=False)
        pipe.incr("metrics:a").incr("metrics:a")
        assert pipe.execute() == [2, 3]
        script = client.register_script("return redis.call('GET', KEYS[1])")
        assert script(keys=["metrics:a"]) == "3"
    found = scrape(measured.registry)
    counts = {
        command: value(found, f"{SECONDS}_count", command=command)
        for command in ("SET", "GET", "PIPELINE", "INCR", "EVALSHA")
    }
    # INCR went in the pipeline: one round trip, timed once as PIPELINE.  The script's first
    # EVALSHA found no script loaded (an error, NoScriptError); redis-py loaded it and sent again.
    assert counts == {"SET": 1, "GET": 2, "PIPELINE": 1, "INCR": 0, "EVALSHA": 2}
    assert value(found, "page_tracker_redis_errors_total", kind="NoScriptError") == 1
    assert 0 < value(found, f"{SECONDS}_sum", command="GET") < 2
    assert value(found, f"{SECONDS}_bucket", command="GET", le="+Inf") == 2


def test_redis_errors_are_counted_by_kind(
    redis_client: redis.Redis, redis_server: RedisServer, measured: Metrics
) -> None:
    with connect(redis_server.url, 2, measured) as client:
        client.set("metrics:text", "not a number")
        with pytest.raises(redis.ResponseError):
            client.incr("metrics:text")
        pipe = client.pipeline(transaction=False)
        pipe.incr("metrics:text")
        with pytest.raises(redis.ResponseError):
            pipe.execute()
    nobody = connect(f"redis://127.0.0.1:{free_port()}", 0.5, measured)
    with nobody, pytest.raises(redis.ConnectionError):
        nobody.ping()
    found = scrape(measured.registry)
    assert value(found, "page_tracker_redis_errors_total", kind="ResponseError") == 2
    assert value(found, "page_tracker_redis_errors_total", kind="ConnectionError") == 1


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server this test may stop."""
    with RedisServer(tmp_path, port=free_port(), persist=False) as server:
        yield server


def test_the_exporter_reads_build_redis_and_inbox_at_each_scrape(
    own_redis: RedisServer, tmp_path: Path
) -> None:
    client = redis.Redis.from_url(own_redis.url, decode_responses=True)
    sites.add(client, sites.make_site("blog", ["example.com"], created=0))
    client.rpush(keys.inbox("blog"), f"2 {time.time() - 42!r} - []", f"2 {time.time()!r} - []")
    with connect(own_redis.url, 0.5) as watched:
        collected = exporter.registry(str(tmp_path), lambda: watched)
        found = scrape(collected)
        (build,) = [labels for name, labels in found if name == "page_tracker_build_info"]
        assert dict(build)["version"] == importlib.metadata.version("page-tracker")
        assert dict(build)["revision"] == exporter.revision() != ""
        assert value(found, "page_tracker_redis_ready") == 1
        assert value(found, "page_tracker_inbox_waiting_records") == 2
        assert 41 <= value(found, "page_tracker_inbox_lag_seconds") < 60
        assert value(found, "process_cpu_seconds_total") > 0
        assert value(found, "process_resident_memory_bytes") > 0
        assert value(found, "process_start_time_seconds") > 0
        own_redis.stop()
        down = scrape(collected)
        assert value(down, "page_tracker_redis_ready") == 0
        assert ("page_tracker_inbox_waiting_records", frozenset()) not in down


def test_the_revision_is_taken_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    exporter.revision.cache_clear()
    monkeypatch.setenv("PAGE_TRACKER_REVISION", "abc1234")
    try:
        assert exporter.revision() == "abc1234"
    finally:
        exporter.revision.cache_clear()


def test_the_exporter_adds_up_the_workers_snapshots(tmp_path: Path) -> None:
    # Two workers counted; one was killed since: its counts stay, its open streams do not.
    for pid, hits, streams in ((_a_dead_pid(), 5, 2), (os.getpid(), 3, 1)):
        worker = Metrics(CollectorRegistry())
        for _ in range(hits):
            worker.hit()
        for _ in range(streams):
            worker.stream_opened()
        worker.request("/hit/<namespace>/<key>", "GET", 200, 0.002)
        exporter.save(worker, str(tmp_path))
        (tmp_path / f"{os.getpid()}.json").rename(tmp_path / f"{pid}.json")
    found = scrape(exporter.registry(str(tmp_path), lambda: redis.Redis(port=free_port())))
    assert value(found, "page_tracker_hits_total") == 8
    assert value(found, "page_tracker_live_streams_open") == 1
    hit = {"route": "/hit/<namespace>/<key>", "method": "GET"}
    assert value(found, "page_tracker_request_duration_seconds_count", **hit) == 2
    assert value(found, "page_tracker_request_duration_seconds_bucket", **hit, le="0.001") == 0
    assert value(found, "page_tracker_request_duration_seconds_bucket", **hit, le="0.0025") == 2
    assert value(found, "page_tracker_redis_ready") == 0  # nobody listens on that port


def _a_dead_pid() -> int:
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    return pid


def test_label_values_come_from_fixed_sets(measured: Metrics) -> None:
    # Whatever a client sends, a label holds a route template, a method, a status class, a
    # reason or a command name: not a path, a site or a key.
    for n in range(50):
        measured.request("/hit/<namespace>/<key>", f"M{n}", 200 + n, 0.001)
    found = scrape(measured.registry)
    methods = {dict(labels).get("method") for name, labels in found if "requests" in name}
    assert methods == {"other"}
    statuses = {dict(labels).get("status") for name, labels in found if name.endswith("_total")}
    assert statuses <= {None, "2xx"}
    assert json.dumps(sorted(map(str, found))).count("M1") == 0
