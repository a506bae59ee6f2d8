"""Every metric moves when its event happens; read through prometheus_client's own parser."""

import json
from typing import Any

import fakeredis
import pytest
from flask import Flask

from page_tracker.app import create_app
from page_tracker.extensions import METRICS, REDIS
from page_tracker.metrics import Metrics, Unmeasured
from test.client import Client
from test.scrape import Samples, scrape, value

ADMIN = {"Authorization": "Bearer s3rver-admin-token"}
CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0"


@pytest.fixture
def app_config() -> dict[str, object]:
    return {
        "TESTING": True,
        "ADMIN_TOKEN": "s3rver-admin-token",
        "METRICS_PORT": 9464,
    }


def samples(app: Flask) -> Samples:
    metrics = app.extensions[METRICS]
    assert isinstance(metrics, Metrics)
    return scrape(metrics.registry)


def add_site(client: Client) -> None:
    body = {"name": "blog", "domains": ["example.com"]}
    assert client.post("/api/sites", json=body, headers=ADMIN).status_code == 201


def beacon(client: Client, body: Any, **headers: str) -> int:
    data = body if isinstance(body, str) else json.dumps(body)
    sent = {"User-Agent": CHROME, "Origin": "https://example.com", **headers}
    return client.post("/api/event", data=data, content_type="text/plain", headers=sent).status_code


def get(client: Client, path: str, method: str = "GET") -> int:
    # Buffered, so the body is read and closed as a server would: a request is measured then.
    return client.open(path, method=method, buffered=True).status_code


def test_without_a_metrics_port_nothing_is_measured(fake_redis: fakeredis.FakeRedis) -> None:
    app = create_app()
    assert type(app.extensions[METRICS]) is Unmeasured


def test_requests_are_counted_by_route_template_method_and_status_class(
    app: Flask, client: Client
) -> None:
    assert get(client, "/healthz") == 200
    assert get(client, "/hit/metrics-ns/first") == 200
    assert get(client, "/hit/metrics-ns/second") == 200
    assert get(client, "/no/such/page/4711") == 404
    assert get(client, "/healthz", "POST") == 405
    found = samples(app)
    requests = "page_tracker_requests_total"
    assert value(found, requests, route="/healthz", method="GET", status="2xx") == 1
    assert value(found, requests, route="/hit/<namespace>/<key>", method="GET", status="2xx") == 2
    assert value(found, requests, route="<unmatched>", method="GET", status="4xx") == 1
    assert value(found, requests, route="<unmatched>", method="POST", status="4xx") == 1
    # The paths sent are nowhere among the labels: only templates are.
    assert not any("metrics-ns" in str(labels) or "4711" in str(labels) for _, labels in found)
    durations = "page_tracker_request_duration_seconds_count"
    assert value(found, durations, route="/hit/<namespace>/<key>", method="GET") == 2
    seconds = value(found, "page_tracker_request_duration_seconds_sum", route="/healthz",
                    method="GET")  # fmt: skip
    assert 0 < seconds < 5


def test_an_unknown_method_is_one_label_value(app: Flask, client: Client) -> None:
    assert get(client, "/healthz", "BREW") == 405
    assert get(client, "/healthz", "WHEN") == 405
    found = samples(app)
    assert value(found, "page_tracker_requests_total", route="<unmatched>", method="other",
                 status="4xx") == 2  # fmt: skip


def test_hits_and_badges_count_hits(app: Flask, client: Client) -> None:
    assert get(client, "/hit/metrics-ns/counted") == 200
    assert get(client, "/badge/metrics-ns/counted.svg") == 200
    assert get(client, "/badge/metrics-ns/counted.svg?count=false") == 200
    assert get(client, "/hit/x/counted") == 400  # a malformed name counts nothing
    assert value(samples(app), "page_tracker_hits_total") == 2


def test_each_beacon_is_counted_or_not_counted_for_its_reason(app: Flask, client: Client) -> None:
    add_site(client)
    page = {"site": "blog", "url": "https://example.com/a"}
    assert beacon(client, page) == 202
    assert beacon(client, page, DNT="1") == 202
    assert (
        beacon(client, page, **{"User-Agent": "Googlebot/2.1 (+http://www.google.com/bot.html)"})
        == 202
    )
    assert beacon(client, page, Origin="https://elsewhere.test") == 403
    assert beacon(client, "{not json") == 400
    assert beacon(client, {"site": "blog"}) == 400
    assert beacon(client, {"site": "nosuchsite", "url": "https://example.com/"}) == 404
    found = samples(app)
    assert value(found, "page_tracker_beacons_accepted_total") == 1
    reasons = {
        reason: value(found, "page_tracker_beacons_not_counted_total", reason=reason)
        for reason in ("dnt", "bot", "refused_origin", "malformed", "unknown_site")
    }
    assert reasons == {"dnt": 1, "bot": 1, "refused_origin": 1, "malformed": 2, "unknown_site": 1}


def test_the_pixel_counts_as_a_beacon(app: Flask, client: Client) -> None:
    add_site(client)
    url = "/p.gif?site=blog&url=https://example.com/b"
    assert client.get(url, headers={"User-Agent": CHROME}).status_code == 202
    assert value(samples(app), "page_tracker_beacons_accepted_total") == 1


def test_batch_events_are_counted_accepted_and_rejected(app: Flask, client: Client) -> None:
    add_site(client)
    events = [
        {"site": "blog", "url": "https://example.com/a", "ip": "192.0.2.1", "user_agent": CHROME},
        {"site": "blog", "url": "https://example.com/b", "ip": "192.0.2.2", "user_agent": CHROME},
        {"site": "blog"},
    ]
    key = {**ADMIN, "Idempotency-Key": "batch-1"}
    assert client.post("/api/events", json=events, headers=key).status_code == 202
    # The same batch again is a replay: it counts nothing, here neither.
    assert client.post("/api/events", json=events, headers=key).status_code == 202
    found = samples(app)
    assert value(found, "page_tracker_batch_events_total", result="accepted") == 2
    assert value(found, "page_tracker_batch_events_total", result="rejected") == 1


LIMITED = {"METRICS_PORT": 9464}


@pytest.mark.parametrize(
    ("app_config", "path", "headers", "statuses", "budget"),
    [
        ({**LIMITED, "RATE_LIMIT": "2/minute"}, "/hit/metrics-ns/limited", {},
         [200, 200, 429, 429], "writes"),
        ({**LIMITED, "AUTH_FAILURE_LIMIT": "1/minute"}, "/api/sites",
         {"Authorization": "Bearer not-a-token-at-all"}, [401, 429, 429, 429], "failed tokens"),
    ],
)  # fmt: skip
def test_rate_limit_refusals_are_counted_by_budget(
    app: Flask, client: Client, path: str, headers: dict[str, str], statuses: list[int],
    budget: str,
) -> None:  # fmt: skip
    assert [client.get(path, headers=headers).status_code for _ in statuses] == statuses
    found = samples(app)
    assert value(found, "page_tracker_rate_limited_total", budget=budget) == statuses.count(429)
    others = {"writes", "page views", "failed tokens"} - {budget}
    assert all(value(found, "page_tracker_rate_limited_total", budget=b) == 0 for b in others)


def test_a_redis_outage_is_not_counted_against_the_beacon(
    app: Flask, client: Client, fake_server: fakeredis.FakeServer
) -> None:
    add_site(client)
    app.extensions[REDIS].close()
    fake_server.connected = False
    assert beacon(client, {"site": "blog", "url": "https://example.com/a"}) == 503
    found = samples(app)
    assert value(found, "page_tracker_beacons_accepted_total") == 0
    assert (
        sum(v for (name, _), v in found.items() if name == "page_tracker_beacons_not_counted_total")
        == 0
    )
    assert value(found, "page_tracker_requests_total", route="/api/event", method="POST",
                 status="5xx") == 1  # fmt: skip
