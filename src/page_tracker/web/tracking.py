"""Page views in: the tracking script, its beacon, the pixel and batches from servers."""

import base64
import json
from datetime import datetime
from importlib.resources import files
from typing import Any

from flask import Blueprint, Response, request
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Request

from page_tracker.extensions import Runtime, runtime
from page_tracker.services import analytics, idempotency, inbox, sites
from page_tracker.web import access, bodies, params
from page_tracker.web.answers import json_error, json_response

bp = Blueprint("tracking", __name__)

SCRIPT = (files("page_tracker") / "static" / "script.js").read_bytes()
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
MAX_EVENT_BYTES = 16 * 1024
MAX_BATCH_BYTES = 4 * 1024 * 1024
MAX_BATCH = 1000
NO_STORE = {"Cache-Control": "no-store"}


@bp.after_request
def allow_any_origin(response: Response) -> Response:
    """Let pages on any origin send views; whether a site accepts them is checked per site.

    Batches come from servers with a token: browsers get no CORS for them at all, so no page
    can make its visitors' browsers send a token it holds.
    """
    if request.endpoint == "tracking.batch":
        return response
    response.headers["Access-Control-Allow-Origin"] = "*"
    if request.method == "OPTIONS":
        response.headers["Access-Control-Allow-Methods"] = "GET, POST"
        response.headers["Access-Control-Allow-Headers"] = "Content-Type"
        response.headers["Access-Control-Max-Age"] = "86400"
    return response


@bp.get("/script.js")
def script() -> Response:
    """Serve the tracking script: no cookies, no storage, one beacon per page view."""
    response = Response(SCRIPT, mimetype="text/javascript")
    response.headers["Cache-Control"] = "public, max-age=3600"
    response.add_etag()
    response.make_conditional(request)
    return response


def _body(sent: Request, limit: int) -> bytes:
    length = sent.content_length
    if length is None:
        # Past the limit werkzeug stops reading and answers 413, even without a Content-Length.
        sent.max_content_length = limit
        return sent.get_data(cache=False)
    if length > limit:
        raise RequestEntityTooLarge()
    # A body of known length is read in one call: werkzeug's stream wrapper costs more than
    # parsing the beacon.
    body: bytes = sent.environ["wsgi.input"].read(length)
    return body


def _json_body(sent: Request, limit: int) -> Any:
    try:
        return bodies.loads(_body(sent, limit))
    except bodies.BodyError as error:
        params.bad_request(str(error))


def _is_dnt(sent: Request, site: sites.Site, view: analytics.PageView) -> bool:
    if not site.honor_dnt:
        return False
    headers = sent.headers
    return view.dnt or headers.get("DNT") == "1" or headers.get("Sec-GPC") == "1"


# The answers to a beacon, encoded once: the script never reads them, people testing do.
COUNTED, BOT, NOT_COUNTED = (
    json.dumps({"status": status}, separators=(",", ":")).encode()
    for status in ("counted", "bot", "not counted: the visitor asked not to be tracked")
)


def _accepted(body: bytes) -> Response:
    return Response(body, 202, mimetype="application/json")


def _count(app: Runtime, sent: Request, raw: Any, origin: str | None) -> Response:
    try:
        view = analytics.parse_event(raw)
        site = app.sites.get(app.redis, view.site)
        analytics.check_origin(site, view, origin)
    except analytics.EventError as error:
        return json_error(error.status, str(error))
    except sites.UnknownSiteError as error:
        return json_error(404, str(error))
    if _is_dnt(sent, site, view):
        return _accepted(NOT_COUNTED)
    agent = sent.headers.get("User-Agent", "")[: analytics.MAX_USER_AGENT]
    visit = analytics.visit(
        app.redis, app.secrets, site, view, app.now, sent.remote_addr or "", agent
    )
    inbox.queue(app.redis, visit)
    app.inbox.filled(site.name)
    return _accepted(BOT if visit.agent.bot else COUNTED)


def answer_event(app: Runtime, sent: Request) -> Response:
    """Return the answer to a beacon from the script (hotpath.py sends it too)."""
    response = _count(app, sent, _json_body(sent, MAX_EVENT_BYTES), sent.headers.get("Origin"))
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.post("/api/event")
def event() -> Response:
    """Count one page view sent by the script: {site, url, referrer, width, dnt}."""
    return answer_event(runtime(), request)


@bp.get("/p.gif")
def pixel() -> Response:
    """Count a page view of a page without JavaScript; answer a transparent 1x1 GIF."""
    args = request.args
    raw = {
        "site": args.get("site"),
        "url": args.get("url") or request.referrer,
        "referrer": args.get("ref"),
    }
    answer = _count(runtime(), request, raw, request.headers.get("Origin") or request.referrer)
    if answer.status_code != 202:
        return answer
    return Response(PIXEL, status=202, mimetype="image/gif", headers=NO_STORE)


def _server_event(
    app: Runtime, held: sites.Grant, raw: Any
) -> tuple[sites.Site, analytics.PageView, datetime]:
    view = analytics.parse_event(raw, server_side=True)
    if not held.can_ingest(view.site):
        raise analytics.EventError(403, f"this token may not send views of {view.site}")
    site = app.sites.get(app.redis, view.site)
    analytics.check_origin(site, view, None)
    return site, view, analytics.check_time(site, view.timestamp, app.now)


@bp.post("/api/events")
def batch() -> Response:
    """Count up to MAX_BATCH server-side page views; answer a result for each."""
    app = runtime()
    held = access.grant(app)
    if held is None:
        access.refuse(held, "send page views in batches")
    body = _json_body(request, MAX_BATCH_BYTES)
    events = body.get("events") if isinstance(body, dict) else body
    if not isinstance(events, list):
        params.bad_request('send a JSON array of events, or {"events": [...]}')
    if len(events) > MAX_BATCH:
        return json_error(413, f"send at most {MAX_BATCH} events in one batch")
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return _count_batch(app, held, events, None)
    try:
        name, answer = idempotency.claim(app.redis, held.token_id, key)
    except idempotency.InProgressError as error:
        return json_error(409, str(error))
    except idempotency.IdempotencyError as error:
        params.bad_request(str(error))
    if answer is not None:
        replayed = Response(answer, 202, mimetype="application/json")
        replayed.headers["Idempotent-Replayed"] = "true"
        return replayed
    try:
        return _count_batch(app, held, events, name)
    except Exception:
        idempotency.release(app.redis, name)
        raise


def _count_batch(app: Runtime, held: sites.Grant, events: list[Any], key: str | None) -> Response:
    """Count a batch's views and answer a result for each, keeping the answer under `key`."""
    results: list[dict[str, Any]] = []
    visits: dict[str, tuple[sites.Site, list[analytics.Visit]]] = {}
    for index, raw in enumerate(events):
        try:
            site, view, when = _server_event(app, held, raw)
        except analytics.EventError as error:
            results.append({"index": index, "status": error.status, "error": str(error)})
            continue
        except sites.UnknownSiteError as error:
            results.append({"index": index, "status": 404, "error": str(error)})
            continue
        results.append({"index": index, "status": 202})
        if site.honor_dnt and view.dnt:
            continue
        visit = analytics.visit(app.redis, app.secrets, site, view, when, view.ip, view.user_agent)
        visits.setdefault(site.name, (site, []))[1].append(visit)
    plans = [
        analytics.admitted_plan(app.redis, site, site_visits)
        for site, site_visits in visits.values()
    ]
    accepted = sum(result["status"] == 202 for result in results)
    answer = json_response(
        {"accepted": accepted, "rejected": len(results) - accepted, "results": results}, 202
    )
    if key is not None:
        idempotency.record(app.redis, plans, app.now, key, answer.get_data(as_text=True))
    elif plans:
        analytics.record(app.redis, plans, app.now)
    return answer
