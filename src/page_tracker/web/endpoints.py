"""Every endpoint, declared once: where it is answered, its largest body, its budget, its CORS.

The core (serving/core.py) routes each request to the event loop or the thread pool, and caps its
body, by this table; both routers, the fast app (busy/fast.py) and Flask, send the CORS declared
here.  `check` fails at start-up when a route is missing from the table or the table names
an endpoint, a budget or a CORS policy that does not exist.  The paths themselves belong to
the routers (the fast app's RULES and Flask's blueprints).
"""

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from flask import Flask, Response, request
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, RequestRedirect

from page_tracker.web.busy.tracking import MAX_BATCH_BYTES, MAX_EVENT_BYTES
from page_tracker.web.management.imports import MAX_IMPORT_BYTES
from page_tracker.web.ratelimit import SETTINGS, VIEWS, WRITES

# Any page may call it and read the answer (Access-Control-Allow-Origin: *).
ANY_ORIGIN = "any origin"
# Any page may send it, with a preflight that allows Content-Type but never Authorization: no
# page can make its visitors' browsers send a token it holds.
BEACON = "beacon"
PREFLIGHT = {
    "Access-Control-Allow-Methods": "GET, POST",
    "Access-Control-Allow-Headers": "Content-Type",
    "Access-Control-Max-Age": "86400",
}


@dataclass(frozen=True)
class Endpoint:
    """How an endpoint is served.

    on_loop: answered on the event loop (a Redis round trip or less), else in the thread pool;
    body_cap: its largest body in bytes (None: MAX_CONTENT_LENGTH);
    budget: the ratelimit budget its handler spends; cors: ANY_ORIGIN, BEACON or None.
    """

    on_loop: bool = False
    body_cap: int | None = None
    budget: str | None = None
    cors: str | None = None


POOL = Endpoint()
LOOP = Endpoint(on_loop=True)
ENDPOINTS = {
    # The busy endpoints: every tracked page and every counter sends them.
    "home.index": LOOP,
    "health.healthz": LOOP,
    "health.readyz": LOOP,
    "counters.hit": Endpoint(on_loop=True, budget=WRITES, cors=ANY_ORIGIN),
    "badges.badge": Endpoint(on_loop=True, budget=WRITES),
    "tracking.event": Endpoint(on_loop=True, body_cap=MAX_EVENT_BYTES, budget=VIEWS, cors=BEACON),
    "tracking.pixel": Endpoint(on_loop=True, budget=VIEWS, cors=BEACON),
    "tracking.batch": Endpoint(on_loop=True, body_cap=MAX_BATCH_BYTES),
    # The counter API.
    "counters.create": Endpoint(budget=WRITES),
    "counters.create_named": Endpoint(budget=WRITES),
    "counters.get": Endpoint(cors=ANY_ORIGIN),
    "counters.info": Endpoint(cors=ANY_ORIGIN),
    "counters.history": Endpoint(cors=ANY_ORIGIN),
    "counters.stats": Endpoint(cors=ANY_ORIGIN),
    "counters.set_value": POOL,
    "counters.update": POOL,
    "counters.reset": POOL,
    "counters.delete": POOL,
    # One byte over the import's limit, so that its view can say a body is over it.
    "admin.import_counters": Endpoint(body_cap=MAX_IMPORT_BYTES + 1),
    "docs.openapi": POOL,
    "tracking.script": Endpoint(cors=BEACON),
    # The site API.
    "sites.list_sites": POOL,
    "sites.add_site": POOL,
    "sites.show_site": POOL,
    "sites.site_stats": POOL,
    "sites.export_csv": POOL,
    "sites.add_token": POOL,
    "sites.revoke_token": POOL,
    # The dashboard.  Its live view checks the viewer in the pool, then hands the stream over.
    "dashboard.home": POOL,
    "dashboard.login": POOL,
    "dashboard.logout": POOL,
    "dashboard.share": POOL,
    "dashboard.sign_in_link": POOL,
    "dashboard.site": POOL,
    "dashboard.figures": POOL,
    "dashboard.live": POOL,
    "dashboard.export_csv": POOL,
    "dashboard.add_share": POOL,
    "dashboard.revoke_share": POOL,
    "dashboard.snippet": POOL,
    "manage.new_site": POOL,
    "manage.site_settings": POOL,
    "manage.delete_site": POOL,
    "manage.tokens": POOL,
    "manage.add_token": POOL,
    "manage.revoke_token": POOL,
    "manage.new_counter": POOL,
    "manage.counter": POOL,
    "manage.set_counter": POOL,
    "static": POOL,
}


class EndpointTableError(RuntimeError):
    """The endpoint table and the routes disagree."""


def check(routed: Iterable[str]) -> None:
    """Raise EndpointTableError unless `routed` (every routed endpoint) and the table agree."""
    names = set(routed)
    problems = [
        f"{name} is routed but not in the table" for name in sorted(names - ENDPOINTS.keys())
    ]
    problems += [
        f"{name} is in the table but not routed" for name in sorted(ENDPOINTS.keys() - names)
    ]
    for name, endpoint in sorted(ENDPOINTS.items()):
        if endpoint.budget is not None and endpoint.budget not in SETTINGS:
            problems.append(f"{name} spends {endpoint.budget!r}, which is no budget")
        if endpoint.cors not in (None, ANY_ORIGIN, BEACON):
            problems.append(f"{name} has CORS {endpoint.cors!r}, which is no policy")
        if endpoint.body_cap is not None and endpoint.body_cap <= 0:
            problems.append(f"{name} caps its body at {endpoint.body_cap}")
    if problems:
        raise EndpointTableError("; ".join(problems))


# Paths longer than this are routed anew each time rather than remembered: no stream of long
# paths can grow the cache's memory past ROUTED x MAX_REMEMBERED.
ROUTED, MAX_REMEMBERED = 4096, 256


def router(*maps: Map) -> Callable[[str, str], Endpoint]:
    """Return a function that finds the Endpoint of a path and method in `maps`, in order.

    A path no map routes is the pool's: Flask answers its 404 or redirect.
    """
    adapters = [routes.bind("localhost") for routes in maps]

    def route(path: str, method: str) -> Endpoint:
        for adapter in adapters:
            try:
                name, _ = adapter.match(path, method)
            except MethodNotAllowed as refused:  # answered as its path's endpoint would be
                name, _ = adapter.match(path, next(iter(refused.valid_methods or ["GET"])))
            except (NotFound, RequestRedirect):
                continue
            return ENDPOINTS.get(str(name), POOL)
        return POOL

    remembered = functools.lru_cache(maxsize=ROUTED)(route)
    return lambda path, method: (remembered if len(path) <= MAX_REMEMBERED else route)(path, method)


def cors_headers(endpoint: str | None, method: str) -> dict[str, str]:
    """Return the CORS headers of an answer of `endpoint` to `method`."""
    cors = ENDPOINTS.get(endpoint or "", POOL).cors
    if cors is None:
        return {}
    if cors == BEACON and method == "OPTIONS":
        return {"Access-Control-Allow-Origin": "*", **PREFLIGHT}
    return {"Access-Control-Allow-Origin": "*"}


def declare_cors(app: Flask) -> None:
    """Send each Flask view's declared CORS headers with its answers.

    Only the blueprints that hold such a view pay for the check: `/` and the dashboard do not.
    """

    def cors(response: Response) -> Response:
        response.headers.update(cors_headers(request.endpoint, request.method))
        return response

    for blueprint in {name.split(".")[0] for name, declared in ENDPOINTS.items() if declared.cors}:
        app.after_request_funcs.setdefault(blueprint, []).append(cors)
