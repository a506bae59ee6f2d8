"""The counter API and badges over real HTTP, as a CountAPI client or an image proxy sees them."""

import uuid

import requests


def test_a_counter_is_created_hit_read_and_changed_over_http(flask_url: str) -> None:
    namespace = f"e2e-{uuid.uuid4().hex[:12]}"  # its own counter, even on a shared deployment
    made = requests.get(f"{flask_url}/create/{namespace}/page?value=10", timeout=5)
    assert made.status_code == 201
    admin = {"Authorization": f"Bearer {made.json()['admin_key']}"}
    hit = requests.post(f"{flask_url}/hit/{namespace}/page", timeout=5)
    assert hit.json() == {"value": 11}
    assert hit.headers["Access-Control-Allow-Origin"] == "*"
    assert "RateLimit-Limit" in hit.headers
    updated = requests.post(
        f"{flask_url}/update/{namespace}/page?amount=-1", headers=admin, timeout=5
    )
    assert updated.json() == {"value": 10}
    assert requests.get(f"{flask_url}/get/{namespace}/page", timeout=5).json() == {"value": 10}


def test_a_badge_is_fresh_svg_every_time(flask_url: str) -> None:
    namespace = f"e2e-{uuid.uuid4().hex[:12]}"
    first = requests.get(f"{flask_url}/badge/{namespace}/readme.svg?label=views", timeout=5)
    second = requests.get(f"{flask_url}/badge/{namespace}/readme.svg?label=views", timeout=5)
    assert first.headers["Content-Type"].startswith("image/svg+xml")
    assert "no-store" in second.headers["Cache-Control"]
    assert "views: 1" in first.text
    assert "views: 2" in second.text


def test_the_openapi_document_is_served(flask_url: str) -> None:
    document = requests.get(f"{flask_url}/openapi.json", timeout=5).json()
    assert document["openapi"].startswith("3.1")
    assert "/hit/{namespace}/{key}" in document["paths"]
