import redis
from flask import Flask

from test.client import Client
from test.integration.concurrency import get_concurrently


def test_views_are_counted_in_the_seed_key(client: Client, redis_client: redis.Redis) -> None:
    assert client.get("/").text == "This page has been seen 1 times."
    assert client.get("/").text == "This page has been seen 2 times."
    assert redis_client.get("page_views") == "2"


def test_count_continues_from_an_existing_seed_deployment(
    client: Client, redis_client: redis.Redis
) -> None:
    redis_client.set("page_views", 1234)
    assert client.get("/").text == "This page has been seen 1235 times."


def test_concurrent_views_are_each_counted_once(app: Flask, redis_client: redis.Redis) -> None:
    threads, views_each = 8, 50
    statuses = get_concurrently(app, "/", threads, views_each)
    assert statuses == [200] * (threads * views_each)
    assert redis_client.get("page_views") == str(threads * views_each)


def test_readyz_is_ready_with_a_live_redis(client: Client) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json == {"status": "ready", "checks": {"redis": "ok", "inbox": "ok"}}
