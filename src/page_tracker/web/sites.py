"""Sites and their figures: the admin API, read tokens, stats and CSV export."""

from datetime import date, timedelta
from typing import Any

from flask import Blueprint, Response, request

from page_tracker.extensions import Runtime, runtime
from page_tracker.services import analytics, inbox, sites
from page_tracker.web import access, params
from page_tracker.web.answers import csv_answer, json_error, json_response

bp = Blueprint("sites", __name__)
DEFAULT_RANGE_DAYS = 30


@bp.after_request
def never_cached(response: Response) -> Response:
    """Keep every answer out of caches: they carry figures and tokens for one token's eyes."""
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.errorhandler(sites.SiteError)
def site_error(error: sites.SiteError) -> Response:
    """Answer 404 for an unknown site, 409 for a taken name, 400 for anything else refused."""
    status = {sites.UnknownSiteError: 404, sites.SiteExistsError: 409}.get(type(error), 400)
    return json_error(status, str(error))


def _admin(app: Runtime, what: str) -> None:
    held = access.grant(app)
    if held is None or held.scope != "admin":
        access.refuse(held, what)


def _readable(app: Runtime, name: str) -> sites.Site:
    held = access.grant(app)
    if held is None or not held.can_read(params.name(name, "site")):
        access.refuse(held, f"read site {name}")
    return sites.load(app.redis, name)


@bp.post("/api/sites")
def add_site() -> tuple[Response, int]:
    """Register a site: {name, domains, tz, retention_days, honor_dnt}."""
    app = runtime()
    _admin(app, "register sites")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        params.bad_request("send the site as a JSON object: {name, domains, tz, retention_days}")
    unknown = set(body) - {"name", "domains", "tz", "retention_days", "honor_dnt"}
    if unknown:
        params.bad_request(f"unknown fields: {', '.join(sorted(unknown))}")
    site = sites.make_site(
        body.get("name"),
        body.get("domains"),
        body.get("tz", "UTC"),
        body.get("retention_days", 365),
        body.get("honor_dnt", True),
        int(app.now.timestamp()),
    )
    sites.add(app.redis, site)
    return json_response(site.public()), 201


@bp.get("/api/sites")
def list_sites() -> Response:
    """List every site's name."""
    app = runtime()
    _admin(app, "list sites")
    return json_response({"sites": sites.names(app.redis)})


@bp.get("/api/sites/<name>")
def show_site(name: str) -> Response:
    """Show a site's settings."""
    return json_response(_readable(runtime(), name).public())


@bp.post("/api/sites/<name>/tokens")
def add_token(name: str) -> tuple[Response, int]:
    """Create a token that may read a site's figures (or send its views: scope ingest)."""
    app = runtime()
    _admin(app, "create tokens")
    body = request.get_json(silent=True) or {}
    scope = body.get("scope", "read") if isinstance(body, dict) else None
    if scope not in ("read", "ingest"):
        params.bad_request("scope must be read or ingest")
    token_id, token = sites.mint_token(
        app.redis, scope, params.name(name, "site"), int(app.now.timestamp())
    )
    return json_response({"id": token_id, "token": token, "scope": scope, "site": name}), 201


@bp.delete("/api/tokens/<token_id>")
def revoke_token(token_id: str) -> Response:
    """Revoke a token: it stops working at once."""
    app = runtime()
    _admin(app, "revoke tokens")
    if not sites.revoke_token(app.redis, token_id):
        return json_error(404, f"no token {token_id}")
    return json_response({"revoked": token_id})


def _date(name: str, default: date) -> date:
    raw = request.args.get(name)
    if not raw:
        return default
    try:
        return date.fromisoformat(raw)
    except ValueError:
        params.bad_request(f"{name} must be a date such as 2026-11-24, got {raw!r}")


def _figures(name: str) -> dict[str, Any]:
    app = runtime()
    site = _readable(app, name)
    tz = request.args.get("tz")
    if tz and tz != site.tz:
        params.bad_request(
            f"site {name} counts days in {site.tz}, fixed when views arrive; "
            f"omit tz or pass {site.tz}"
        )
    today = analytics.local_day(site, app.now)
    last = _date("to", today)
    first = _date("from", last - timedelta(days=DEFAULT_RANGE_DAYS - 1))
    if first > last:
        params.bad_request("from must not be after to")
    if (last - first).days >= analytics.MAX_RANGE_DAYS:
        params.bad_request(f"a range spans at most {analytics.MAX_RANGE_DAYS} days")
    inbox.settle(app.redis, site, app.now)
    return analytics.stats(app.redis, site, first, last, today)


@bp.get("/api/sites/<name>/stats")
def stats(name: str) -> Response:
    """Totals, a time series and top lists of a site over ?from=&to= (its own days)."""
    return json_response(_figures(name))


@bp.get("/api/sites/<name>/export.csv")
def export_csv(name: str) -> Response:
    """Answer the figures of /stats as CSV rows: section, name, views, visitors."""
    return csv_answer(_figures(name))
