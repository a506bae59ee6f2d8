"""What each endpoint allows: the rate-limit budget it spends and who may call it from a page.

Both routers, the fast app (fast.py) and Flask, read the CORS declared here: an endpoint not
listed sends no CORS headers.  Each endpoint that spends a budget spends it in its handler
(in its own Redis script where it has one); the budget named here is what docs.py documents.
"""

from dataclasses import dataclass

from flask import Flask, Response, request

from page_tracker.web.ratelimit import VIEWS, WRITES

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
class Declared:
    """An endpoint's budget (a ratelimit key, or None) and its CORS (ANY_ORIGIN, BEACON, None)."""

    budget: str | None = None
    cors: str | None = None


DECLARED = {
    "counters.hit": Declared(WRITES, ANY_ORIGIN),
    "counters.create": Declared(WRITES),
    "counters.create_named": Declared(WRITES),
    "counters.get": Declared(cors=ANY_ORIGIN),
    "counters.info": Declared(cors=ANY_ORIGIN),
    "counters.history": Declared(cors=ANY_ORIGIN),
    "counters.stats": Declared(cors=ANY_ORIGIN),
    "badges.badge": Declared(WRITES),
    "tracking.event": Declared(VIEWS, BEACON),
    "tracking.pixel": Declared(VIEWS, BEACON),
    "tracking.script": Declared(cors=BEACON),
}
NOTHING = Declared()


def cors_headers(endpoint: str | None, method: str) -> dict[str, str]:
    """Return the CORS headers of an answer of `endpoint` to `method`."""
    cors = DECLARED.get(endpoint or "", NOTHING).cors
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

    for blueprint in {name.split(".")[0] for name, declared in DECLARED.items() if declared.cors}:
        app.after_request_funcs.setdefault(blueprint, []).append(cors)
