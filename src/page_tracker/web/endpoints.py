"""Every endpoint, declared once: where it is answered, its body cap, budget, CORS, auth and CSRF.

The core (serving/core.py) routes each request to the event loop or the thread pool, and caps its
body, by this table; both routers, the fast app (busy/fast.py) and Flask, send the CORS declared
here; `guard` wraps each Flask view in the checks of who may call it and of its form's CSRF
token.  `check` fails at start-up when a route is missing from the table, the table names an
endpoint, a budget or a CORS policy that does not exist, or the fast app (which runs no Flask
view) answers an endpoint that declares auth or CSRF.  The paths themselves belong to the
routers (the fast app's RULES and Flask's blueprints).
"""

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from flask import Flask, Response, request
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, RequestRedirect

from page_tracker.web import auth
from page_tracker.web.auth import View
from page_tracker.web.ratelimit import SETTINGS, VIEWS, WRITES

# The largest bodies of the endpoints that take more than MAX_CONTENT_LENGTH, or less.
MAX_EVENT_BYTES = 16 * 1024
MAX_BATCH_BYTES = 4 * 1024 * 1024
MAX_IMPORT_BYTES = 16 * 1024 * 1024
# Where a router leaves the route template it answered, for the metrics and the access line.
ROUTE = "page_tracker.route"
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
    budget: the ratelimit budget its handler spends; cors: ANY_ORIGIN, BEACON or None;
    auth: who may call it, a decorator of auth.py that checks before the view runs and hands
    it what it found (None: anyone); csrf: a request other than GET, HEAD or OPTIONS must carry
    the form's CSRF token (checked after auth).
    """

    on_loop: bool = False
    body_cap: int | None = None
    budget: str | None = None
    cors: str | None = None
    auth: Callable[[View], View] | None = None
    csrf: bool = False


POOL = Endpoint()
LOOP = Endpoint(on_loop=True)
# Forms of the dashboard, each with its CSRF token; and what a signed-in viewer may see.
FORM = Endpoint(csrf=True)
SIGNED_IN_ADMIN = Endpoint(auth=auth.signed_in_admin)
ADMIN_FORM = Endpoint(auth=auth.signed_in_admin, csrf=True)
SEES_SITE = Endpoint(auth=auth.sees_site())
SITE_ADMIN_FORM = Endpoint(auth=auth.sees_site(admin_only=True), csrf=True)
COUNTER_ADMIN = Endpoint(auth=auth.counter_admin)
READS_SITE = Endpoint(auth=auth.reads_site)
ENDPOINTS = {
    # The busy endpoints: every tracked page and every counter sends them.
    "home.index": LOOP,
    "health.healthz": LOOP,
    # It asks Redis and every site's inbox: in the pool, so a stuck Redis holds no loop.
    "health.readyz": POOL,
    "counters.hit": Endpoint(on_loop=True, budget=WRITES, cors=ANY_ORIGIN),
    "badges.badge": Endpoint(on_loop=True, budget=WRITES),
    "tracking.event": Endpoint(on_loop=True, body_cap=MAX_EVENT_BYTES, budget=VIEWS, cors=BEACON),
    "tracking.pixel": Endpoint(on_loop=True, budget=VIEWS, cors=BEACON),
    # Its body is read on the loop; its thousand views are counted in the pool, where tens of
    # milliseconds of work hold no other request up.
    "tracking.batch": Endpoint(body_cap=MAX_BATCH_BYTES, auth=auth.ingests),
    # The counter API.
    "counters.create": Endpoint(budget=WRITES),
    "counters.create_named": Endpoint(budget=WRITES),
    "counters.get": Endpoint(cors=ANY_ORIGIN),
    "counters.info": Endpoint(cors=ANY_ORIGIN),
    "counters.history": Endpoint(cors=ANY_ORIGIN),
    "counters.server_totals": Endpoint(cors=ANY_ORIGIN),
    "counters.set_value": COUNTER_ADMIN,
    "counters.update": COUNTER_ADMIN,
    "counters.reset": COUNTER_ADMIN,
    "counters.delete": COUNTER_ADMIN,
    # One byte over the import's limit, so that its view can say a body is over it.
    "admin.import_counters": Endpoint(body_cap=MAX_IMPORT_BYTES + 1, auth=auth.server_admin),
    "docs.openapi": POOL,
    "tracking.script": Endpoint(cors=BEACON),
    # The site API.
    "sites.list_sites": Endpoint(auth=auth.admin("list sites")),
    "sites.add_site": Endpoint(auth=auth.admin("register sites")),
    "sites.show_site": READS_SITE,
    "sites.site_stats": READS_SITE,
    "sites.export_csv": READS_SITE,
    "sites.add_token": Endpoint(auth=auth.admin("create tokens")),
    "sites.revoke_token": Endpoint(auth=auth.admin("revoke tokens")),
    # The dashboard.  Its live view checks the viewer in the pool, then hands the stream over.
    "dashboard.home": Endpoint(auth=auth.signed_in),
    "dashboard.login": FORM,
    "dashboard.logout": FORM,
    "dashboard.share": FORM,
    "dashboard.sign_in_link": FORM,
    "dashboard.site": SEES_SITE,
    "dashboard.figures": SEES_SITE,
    "dashboard.live": SEES_SITE,
    "dashboard.export_csv": SEES_SITE,
    "dashboard.add_share": SITE_ADMIN_FORM,
    "dashboard.revoke_share": SITE_ADMIN_FORM,
    "dashboard.snippet": SEES_SITE,
    "manage.new_site": ADMIN_FORM,
    "manage.site_settings": SITE_ADMIN_FORM,
    "manage.delete_site": SITE_ADMIN_FORM,
    "manage.tokens": SIGNED_IN_ADMIN,
    "manage.add_token": ADMIN_FORM,
    "manage.revoke_token": ADMIN_FORM,
    "manage.new_counter": ADMIN_FORM,
    "manage.counter": SIGNED_IN_ADMIN,
    "manage.set_counter": ADMIN_FORM,
    "static": POOL,
}


class EndpointTableError(RuntimeError):
    """The endpoint table and the routes disagree."""


def check(routed: Iterable[str], fast: Iterable[str]) -> None:
    """Raise EndpointTableError unless the table agrees with the routes.

    `routed` names every routed endpoint; `fast`, those the fast app answers without Flask.
    """
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
    for name in sorted(set(fast)):
        declared = ENDPOINTS.get(name, POOL)
        if declared.auth is not None or declared.csrf:
            problems.append(f"{name} declares auth or CSRF, but the fast app answers it")
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


def guard(app: Flask) -> None:
    """Wrap each Flask view in the checks its endpoint declares: auth first, then CSRF."""
    for name, endpoint in ENDPOINTS.items():
        view = app.view_functions.get(name)
        if view is None:
            continue
        if endpoint.csrf:
            view = auth.checks_form(view)
        if endpoint.auth is not None:
            view = endpoint.auth(view)
        app.view_functions[name] = view
