"""The seed page and the probes over real HTTP, against a real Redis."""

import redis
import requests


def test_each_view_increments_the_seed_key_by_one(flask_url: str, e2e_redis: redis.Redis) -> None:
    before = int(e2e_redis.get("page_views") or 0)
    response = requests.get(f"{flask_url}/", timeout=5)
    assert response.status_code == 200
    assert response.text == f"This page has been seen {before + 1} times."
    assert int(e2e_redis.get("page_views") or 0) == before + 1


def test_probes_report_live_and_ready(flask_url: str) -> None:
    assert requests.get(f"{flask_url}/healthz", timeout=5).json() == {"status": "ok"}
    ready = requests.get(f"{flask_url}/readyz", timeout=5)
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"redis": "ok", "inbox": "ok"}


def test_unknown_routes_and_wrong_methods_are_json_errors(flask_url: str) -> None:
    missing = requests.get(f"{flask_url}/no-such-page", timeout=5)
    assert missing.status_code == 404
    assert missing.json()["error"] == "Not Found"
    wrong = requests.put(f"{flask_url}/", timeout=5)
    assert wrong.status_code == 405
    assert wrong.json()["error"] == "Method Not Allowed"
