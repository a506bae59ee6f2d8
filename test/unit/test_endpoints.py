"""The endpoint table: every route in it, nothing in it that is not routed, and what it routes."""

import inspect
import re

import pytest
from flask import Flask

from page_tracker.app import create_app
from page_tracker.web import endpoints
from page_tracker.web.busy import fast
from page_tracker.web.endpoints import ENDPOINTS, LOOP, POOL, Endpoint, EndpointTableError


def routed(app: Flask) -> list[str]:
    return [rule.endpoint for routes in (app.url_map, fast.RULES) for rule in routes.iter_rules()]


def test_the_app_starts_with_every_route_in_the_table() -> None:
    app = create_app()
    assert set(routed(app)) == set(ENDPOINTS)


def test_a_route_missing_from_the_table_stops_start_up() -> None:
    app = create_app()
    app.add_url_rule("/undeclared", "undeclared", lambda: "")
    with pytest.raises(
        EndpointTableError, match=re.escape("undeclared is routed but not in the table")
    ):
        endpoints.check(routed(app), [])


def test_a_declaration_of_nothing_stops_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(ENDPOINTS, "counters.vanished", POOL)
    with pytest.raises(
        EndpointTableError, match=re.escape("counters.vanished is in the table but not")
    ):
        create_app()


@pytest.mark.parametrize(
    ("declared", "problem"),
    [
        (Endpoint(budget="writez"), "spends 'writez', which is no budget"),
        (Endpoint(cors="everyone"), "has CORS 'everyone', which is no policy"),
        (Endpoint(body_cap=0), "caps its body at 0"),
    ],
)
def test_a_declaration_of_what_does_not_exist_stops_start_up(
    monkeypatch: pytest.MonkeyPatch, declared: Endpoint, problem: str
) -> None:
    monkeypatch.setitem(ENDPOINTS, "home.index", declared)
    with pytest.raises(EndpointTableError, match=re.escape(problem)):
        create_app()


@pytest.mark.parametrize(
    ("path", "method", "endpoint"),
    [
        ("/", "GET", LOOP),
        ("/hit/site.one/home", "GET", ENDPOINTS["counters.hit"]),
        ("/hit/home", "POST", ENDPOINTS["counters.hit"]),
        ("/badge/site.one/home.svg", "GET", ENDPOINTS["badges.badge"]),
        ("/api/event", "POST", ENDPOINTS["tracking.event"]),
        ("/api/event", "GET", ENDPOINTS["tracking.event"]),  # a 405, answered as the beacon's
        ("/import", "POST", ENDPOINTS["admin.import_counters"]),
        ("/dashboard/sites/blog/live", "GET", ENDPOINTS["dashboard.live"]),
        ("/dashboard", "GET", POOL),  # a redirect
        ("/nowhere", "GET", POOL),  # a 404
        ("/" + "x" * 5000, "GET", POOL),  # routed without being remembered
    ],
)
def test_the_router_finds_each_request_s_endpoint(
    path: str, method: str, endpoint: Endpoint
) -> None:
    route = endpoints.router(fast.RULES, create_app().url_map)
    assert route(path, method) == endpoint


def test_auth_or_csrf_on_an_endpoint_of_the_fast_app_stops_start_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(ENDPOINTS, "counters.hit", Endpoint(on_loop=True, csrf=True))
    with pytest.raises(EndpointTableError, match=re.escape("counters.hit declares auth or CSRF")):
        create_app()


def test_every_view_that_takes_a_grant_is_guarded_by_the_table() -> None:
    app = create_app()
    for name, view in app.view_functions.items():
        if "grant" in inspect.signature(inspect.unwrap(view)).parameters:
            assert ENDPOINTS[name].auth is not None, name
