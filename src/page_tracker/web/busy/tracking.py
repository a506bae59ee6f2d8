"""Page views in: the tracking script, its beacon, the pixel and batches from servers."""

import base64
import json
from collections.abc import Callable, Mapping
from importlib.resources import files
from typing import Any

from flask import Blueprint, Response, request
from werkzeug.exceptions import RequestEntityTooLarge

from page_tracker.extensions import Runtime, current_runtime
from page_tracker.services import sites
from page_tracker.services.ingest import intake
from page_tracker.services.ingest.events import EventError, RefusedEventError
from page_tracker.store.budgets import Spent
from page_tracker.web import bodies, params, ratelimit
from page_tracker.web.answers import Reply, json_error, reply
from page_tracker.web.busy.incoming import Incoming
from page_tracker.web.endpoints import MAX_BATCH_BYTES, MAX_EVENT_BYTES
from page_tracker.web.errors import status_of

bp = Blueprint("tracking", __name__)

SCRIPT = (files("page_tracker") / "static" / "script.js").read_bytes()
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


@bp.get("/script.js")
def script() -> Response:
    """Serve the tracking script: no cookies, no storage, one beacon per page view."""
    response = Response(SCRIPT, mimetype="text/javascript")
    response.headers["Cache-Control"] = "public, max-age=3600"
    response.add_etag()
    response.make_conditional(request)
    return response


def _json_body(incoming: Incoming, limit: int) -> Any:
    return bodies.loads(incoming.body(limit))


# The answers to a beacon, encoded once: the script never reads them, people testing do.
ANSWERS = {
    outcome: json.dumps({"status": outcome}, separators=(",", ":")).encode()
    for outcome in (intake.COUNTED, intake.BOT, intake.PRIVATE)
}


def _sender(incoming: Incoming, origin: str | None) -> intake.Sender:
    opted_out = incoming.header("DNT") == "1" or incoming.header("SEC_GPC") == "1"
    user_agent = incoming.header("USER_AGENT") or ""
    return intake.Sender(incoming.remote_addr, user_agent, origin, opted_out)


# Why a view from a browser that was answered was not counted as a view (see metrics.py).
UNCOUNTED_REASON = {intake.COUNTED: None, intake.BOT: "bot", intake.PRIVATE: "dnt"}


def _refused(error: Exception) -> str | None:
    """Return why a view that raised `error` was not counted; None if not for the view itself."""
    if isinstance(error, RefusedEventError):
        return "refused_origin"
    if isinstance(error, sites.UnknownSiteError):
        return "unknown_site"
    if isinstance(error, EventError | bodies.BodyError | RequestEntityTooLarge):
        return "malformed"
    return None


async def _accept(
    runtime: Runtime, read: Callable[[], Any], sender: intake.Sender
) -> tuple[str, Spent | None]:
    """Queue the view `read()` returns, spending the sender's budget of views; count the outcome.

    Return the outcome and what was spent.
    """
    try:
        outcome, spent = await intake.accept(
            runtime.intake, read(), sender, runtime.now, runtime.budgets.get(ratelimit.VIEWS)
        )
    except Exception as error:
        if (reason := _refused(error)) is not None:
            runtime.metrics.beacon(reason)
        raise
    runtime.metrics.beacon(UNCOUNTED_REASON[outcome])
    return outcome, spent


async def answer_event(runtime: Runtime, incoming: Incoming, _: Mapping[str, str]) -> Reply:
    """Count one page view sent by the script: {site, url, referrer, width, dnt} (fast.py)."""
    sender = _sender(incoming, incoming.header("ORIGIN"))
    outcome, spent = await _accept(runtime, lambda: _json_body(incoming, MAX_EVENT_BYTES), sender)
    return reply(202, "application/json", ANSWERS[outcome], *ratelimit.headers(spent))


async def answer_pixel(runtime: Runtime, incoming: Incoming, _: Mapping[str, str]) -> Reply:
    """Count a page view of a page without JavaScript; answer a transparent 1x1 GIF (fast.py)."""
    args, referrer = incoming.args, incoming.header("REFERER")
    raw = {
        "site": args.get("site"),
        "url": args.get("url") or referrer,
        "referrer": args.get("ref"),
    }
    sender = _sender(incoming, incoming.header("ORIGIN") or referrer)
    spent = (await _accept(runtime, lambda: raw, sender))[1]
    no_store = ("Cache-Control", "no-store")
    return reply(202, "image/gif", PIXEL, no_store, *ratelimit.headers(spent))


def _batch_answer(outcomes: intake.Outcomes) -> str:
    """Return a batch's answer: how many events were accepted, and a result for each."""
    results = [
        {"index": index, "status": 202}
        if error is None
        else {"index": index, "status": status_of(error), "error": str(error)}
        for index, error in enumerate(outcomes)
    ]
    accepted = outcomes.count(None)
    body = {"accepted": accepted, "rejected": len(outcomes) - accepted, "results": results}
    return json.dumps(body, separators=(",", ":"))


@bp.post("/api/events")
def batch(grant: sites.Grant) -> Response:
    """Count up to MAX_BATCH server-side page views; answer a result for each."""
    body = _json_body(Incoming(request.environ), MAX_BATCH_BYTES)
    events = body.get("events") if isinstance(body, dict) else body
    if not isinstance(events, list):
        params.bad_request('send a JSON array of events, or {"events": [...]}')
    if len(events) > intake.MAX_BATCH:
        return json_error(413, f"send at most {intake.MAX_BATCH} events in one batch")
    runtime = current_runtime()
    key = request.headers.get("Idempotency-Key")
    counted = intake.count_batch(runtime.intake, grant, events, runtime.now, _batch_answer, key)
    response = Response(counted.answer, 202, mimetype="application/json")
    if counted.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    else:
        runtime.metrics.batch(counted.accepted, len(events) - counted.accepted)
    return response
