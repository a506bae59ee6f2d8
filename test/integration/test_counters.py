"""The counter API against a real Redis: every endpoint and every error code."""

from datetime import timedelta
from typing import cast

import pytest
import redis
from flask import Flask
from redis.crc import key_slot

from page_tracker.extensions import CLOCK
from test.client import Client, client_of
from test.clock import Clock, day, last
from test.conftest import MakeApp
from test.integration.concurrency import get_concurrently

pytestmark = pytest.mark.dates

# The last 22:30 UTC: late enough that Sydney's date is already the next day.
START = last(22, 30)


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


@pytest.fixture
def app(make_app: MakeApp, clock: Clock) -> Flask:
    app = make_app({"RATE_LIMIT": "", "ADMIN_TOKEN": "t0ken-admin-token"})
    app.extensions[CLOCK] = clock
    return app


def created(client: Client, path: str = "/create/site.one/home?value=5") -> str:
    response = client.get(path)
    assert response.status_code == 201
    return str(response.json["admin_key"])


def bearer(admin_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {admin_key}"}


def test_hit_creates_then_counts_with_get_and_post(client: Client) -> None:
    assert client.get("/hit/site.one/home").json == {"value": 1}
    assert client.post("/hit/site.one/home").json == {"value": 2}
    assert client.get("/get/site.one/home").json == {"value": 2}


def test_single_segment_paths_use_the_default_namespace(client: Client) -> None:
    client.get("/hit/home-page")
    assert client.get("/get/default/home-page").json == {"value": 1}


@pytest.mark.parametrize(
    "path",
    ["/hit/ab", "/hit/site.one/has space", "/get/" + "x" * 65, "/hit/bad!name/home"],
)
def test_bad_names_are_400_saying_what_is_allowed(client: Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 400
    assert "3 to 64 characters" in response.json["message"]


def test_reads_and_hits_allow_any_origin_but_admin_calls_do_not(client: Client) -> None:
    admin_key = created(client)
    assert client.get("/hit/site.one/home").headers["Access-Control-Allow-Origin"] == "*"
    assert client.get("/info/site.one/home").headers["Access-Control-Allow-Origin"] == "*"
    admin = client.post("/reset/site.one/home", headers=bearer(admin_key))
    assert "Access-Control-Allow-Origin" not in admin.headers


def test_jsonp_wraps_the_json_in_the_callback(client: Client) -> None:
    response = client.get("/hit/site.one/home?callback=show_count")
    assert response.mimetype == "application/javascript"
    assert response.text == '/**/show_count({"value":1});'


def test_a_callback_that_is_not_an_identifier_is_400_and_counts_nothing(
    client: Client,
) -> None:
    assert client.get("/hit/site.one/home?callback=alert(1)").status_code == 400
    assert client.get("/get/site.one/home").status_code == 404


def test_get_of_a_missing_counter_is_404(client: Client) -> None:
    response = client.get("/get/site.one/none")
    assert response.status_code == 404
    assert response.json["error"] == "Not Found"


def test_create_answers_201_with_an_admin_key_then_409(client: Client) -> None:
    response = client.get("/create/site.one/home?value=41")
    assert response.status_code == 201
    body = response.json
    assert body is not None
    assert (body["namespace"], body["key"], body["value"]) == ("site.one", "home", 41)
    assert len(body["admin_key"]) >= 32  # 24 random bytes, base64url: 192 bits
    assert client.get("/create/site.one/home").status_code == 409
    assert client.get("/hit/site.one/home").json == {"value": 42}


@pytest.mark.parametrize("how", ["json", "form", "query"])
def test_post_create_takes_json_form_or_query(client: Client, how: str) -> None:
    fields = {"namespace": "site.one", "key": f"by-{how}", "value": "7"}
    response = {
        "json": lambda: client.post("/create", json=fields),
        "form": lambda: client.post("/create", data=fields),
        "query": lambda: client.post("/create", query_string=fields),
    }[how]()
    assert response.status_code == 201
    assert client.get(f"/get/site.one/by-{how}").json == {"value": 7}


def test_post_create_makes_up_missing_names(client: Client) -> None:
    body = client.post("/create").json
    assert body is not None
    assert body["namespace"] == "default"
    assert client.get(f"/get/default/{body['key']}").json == {"value": 0}


def test_admin_key_is_stored_only_as_a_hash(client: Client, backend_redis: redis.Redis) -> None:
    admin_key = created(client)
    stored = backend_redis.hgetall("pt:{site.one}:c:home")
    assert admin_key not in stored.values()
    assert len(stored["admin"]) == 64


@pytest.mark.parametrize("send", ["header", "query"])
def test_set_with_the_admin_key(client: Client, send: str) -> None:
    admin_key = created(client)
    if send == "header":
        response = client.post("/set/site.one/home?value=100", headers=bearer(admin_key))
    else:
        response = client.post(f"/set/site.one/home?value=100&token={admin_key}")
    assert response.json == {"old_value": 5, "value": 100}


def test_update_adds_a_signed_amount(client: Client) -> None:
    admin_key = created(client)
    assert client.post("/update/site.one/home?amount=-7", headers=bearer(admin_key)).json == {
        "value": -2
    }


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/update/site.one/home?amount=0", "must not be 0"),
        ("/update/site.one/home?amount=1.5", "must be an integer"),
        ("/update/site.one/home", "amount is required"),
        ("/set/site.one/home?value=9223372036854775808", "must be an integer from"),
        ("/set/site.one/home?value=ten", "must be an integer from"),
    ],
)
def test_bad_numbers_are_400(client: Client, path: str, message: str) -> None:
    admin_key = created(client)
    response = client.post(path, headers=bearer(admin_key))
    assert response.status_code == 400
    assert message in response.json["message"]


def test_overflow_is_400_and_changes_nothing(client: Client) -> None:
    admin_key = created(client, "/create/site.one/home?value=9223372036854775807")
    assert client.get("/hit/site.one/home").status_code == 400
    response = client.post("/update/site.one/home?amount=1", headers=bearer(admin_key))
    assert response.status_code == 400
    assert client.get("/get/site.one/home").json == {"value": 9223372036854775807}


def test_wrong_or_missing_admin_key_is_401(client: Client) -> None:
    created(client)
    wrong = client.post("/reset/site.one/home", headers=bearer("not-the-key"))
    assert wrong.status_code == 401
    assert wrong.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.post("/reset/site.one/home").status_code == 401
    assert client.get("/get/site.one/home").json == {"value": 5}


def test_counter_created_by_a_hit_has_no_admin_key_so_admin_calls_are_403(
    client: Client,
) -> None:
    client.get("/hit/site.one/home")
    for path in ("/set/site.one/home?value=3", "/reset/site.one/home", "/delete/site.one/home"):
        assert client.post(path, headers=bearer("anything")).status_code == 403


def test_admin_calls_on_a_missing_counter_are_404(client: Client) -> None:
    assert client.post("/reset/site.one/none", headers=bearer("k")).status_code == 404


def test_reset_keeps_history_and_delete_removes_everything(
    client: Client, backend_redis: redis.Redis
) -> None:
    admin_key = created(client)
    client.get("/hit/site.one/home")
    reset = client.post("/reset/site.one/home", headers=bearer(admin_key))
    assert reset.json == {"old_value": 6, "value": 0}
    assert client.get("/history/site.one/home?days=1").json["days"][0]["hits"] == 1
    deleted = client.post("/delete/site.one/home", headers=bearer(admin_key))
    assert deleted.json == {"deleted": True, "old_value": 0}
    assert client.get("/get/site.one/home").status_code == 404
    assert backend_redis.keys("pt:{site.one}:[chu]:home*") == []


def test_info_describes_the_counter(client: Client) -> None:
    created(client)
    client.get("/hit/site.one/home", environ_base={"REMOTE_ADDR": "192.0.2.1"})
    client.get("/hit/site.one/home", environ_base={"REMOTE_ADDR": "192.0.2.2"})
    info = client.get("/info/site.one/home").json
    assert info is not None
    assert info["value"] == 7
    assert info["created"] == START.isoformat()
    assert info["has_admin_key"] is True
    assert info["unique_visitors"] == 2
    assert 365 * 86400 - 5 <= info["expires_in"] <= 365 * 86400
    assert client.get("/info/site.one/none").status_code == 404


def test_every_key_a_hit_writes_expires_and_shares_one_hash_slot(
    client: Client, backend_redis: redis.Redis
) -> None:
    client.get("/hit/site.one/home")
    written = cast(list[str], backend_redis.keys("pt:{site.one}:*"))
    assert len(written) == 5
    assert all(backend_redis.ttl(name) > 0 for name in written)
    assert {key_slot(name.encode()) for name in written} == {key_slot(b"site.one")}


def test_lifetimes_are_renewed_by_the_first_hit_of_each_hour(
    client: Client, backend_redis: redis.Redis, clock: Clock
) -> None:
    client.get("/hit/site.one/home")
    counter, totals = "pt:{site.one}:c:home", "pt:{site.one}:totals"
    for name in (counter, totals, "pt:{site.one}:u:home:all"):
        backend_redis.expire(name, 100)
    clock.now += timedelta(minutes=10)
    client.get("/hit/site.one/home")  # the same hour: lifetimes stand
    assert backend_redis.ttl(counter) <= 100
    clock.now += timedelta(hours=1)
    client.get("/hit/site.one/home")  # a new hour: every lifetime is renewed
    for name in (counter, totals, "pt:{site.one}:u:home:all"):
        assert backend_redis.ttl(name) > 365 * 86400 - 5


def test_a_counter_deleted_and_hit_again_in_the_same_hour_expires(
    client: Client, backend_redis: redis.Redis
) -> None:
    key = created(client)
    client.get("/hit/site.one/home")
    assert client.post("/delete/site.one/home", headers=bearer(key)).status_code == 200
    client.get("/hit/site.one/home")
    written = backend_redis.keys("pt:{site.one}:*")
    assert len(written) == 5
    assert all(backend_redis.ttl(name) > 0 for name in written)


def test_history_counts_hits_and_unique_visitors_per_day(client: Client, clock: Clock) -> None:
    for address in ("192.0.2.1", "192.0.2.1", "192.0.2.2"):
        client.get("/hit/site.one/home", environ_base={"REMOTE_ADDR": address})
    clock.now += timedelta(days=1)
    client.get("/hit/site.one/home", environ_base={"REMOTE_ADDR": "192.0.2.9"})
    days = client.get("/history/site.one/home?days=3").json["days"]
    assert [(d["date"], d["hits"], d["unique"]) for d in days] == [
        (day(START, -1), 0, 0),
        (day(START), 3, 2),
        (day(START, 1), 1, 1),
    ]


def test_history_regroups_hours_into_the_days_of_a_time_zone(client: Client, clock: Clock) -> None:
    # 22:30 UTC is 08:30 or 09:30 on the next day in Sydney (UTC+10, or +11 in summer).
    client.get("/hit/site.one/home")
    clock.now = START.replace(hour=2)  # 12:00 or 13:00 on the same day in Sydney
    client.get("/hit/site.one/home")
    clock.now = START + timedelta(hours=1)
    tz = client.get("/history/site.one/home?days=2&tz=Australia/Sydney").json
    assert [(d["date"], d["hits"]) for d in tz["days"]] == [
        (day(START), 1),
        (day(START, 1), 1),
    ]
    assert tz["days"][1]["unique_is_upper_bound"] is True


@pytest.mark.parametrize(
    "query", ["days=0", "days=100000", "days=two", "tz=Mars/Olympus", "tz=../etc"]
)
def test_bad_history_queries_are_400(client: Client, query: str) -> None:
    client.get("/hit/site.one/home")
    assert client.get(f"/history/site.one/home?{query}").status_code == 400


def test_stats_add_up_counters_namespaces_and_hits(client: Client) -> None:
    for path in ("/hit/site.one/a-page", "/hit/site.one/a-page", "/hit/site.two/b-page"):
        client.get(path)
    assert client.get("/stats").json == {"counters": 2, "namespaces": 2, "hits": 3}


def test_stats_walk_the_keys_at_most_once_a_minute(
    client: Client, backend_redis: redis.Redis
) -> None:
    client.get("/hit/site.one/a-page")
    assert client.get("/stats").json == {"counters": 1, "namespaces": 1, "hits": 1}
    client.get("/hit/site.two/b-page")
    # Anyone may ask, so a flood of asks costs one walk of the keyspace a minute.
    assert client.get("/stats").json == {"counters": 1, "namespaces": 1, "hits": 1}
    assert 55 < backend_redis.ttl("pt:stats") <= 60
    backend_redis.delete("pt:stats")  # what a minute does
    assert client.get("/stats").json == {"counters": 2, "namespaces": 2, "hits": 2}


# On the real server only: fakeredis, run under libfaketime (make test-dates), now and then loses
# hits of concurrent threads (1 run in 20 here, before and after the operating work), which
# says nothing of page-tracker.
@pytest.mark.parametrize("backend", [pytest.param("real", marks=pytest.mark.real)], indirect=True)
def test_concurrent_hits_on_one_counter_are_each_counted_once(app: Flask) -> None:
    threads, hits_each = 8, 100
    statuses = get_concurrently(app, "/hit/site.one/hot", threads, hits_each)
    assert statuses == [200] * threads * hits_each
    assert client_of(app).get("/get/site.one/hot").json == {"value": threads * hits_each}
