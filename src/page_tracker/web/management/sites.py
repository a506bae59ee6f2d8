"""Sites and their figures: the admin API, read tokens, stats and CSV export."""

from typing import Any

from flask import Blueprint, Response, request

from page_tracker.extensions import current_runtime
from page_tracker.services import site_figures, sites
from page_tracker.web import params
from page_tracker.web.answers import csv_answer, json_error, json_response

bp = Blueprint("sites", __name__)


@bp.after_request
def never_cached(response: Response) -> Response:
    """Keep every answer out of caches: they carry figures and tokens for one token's eyes."""
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/api/sites")
def add_site() -> tuple[Response, int]:
    """Register a site: {name, domains, tz, retention_days, honor_dnt}."""
    runtime = current_runtime()
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
        int(runtime.now.timestamp()),
    )
    sites.add(runtime.redis, site)
    return json_response(site.public()), 201


@bp.get("/api/sites")
def list_sites() -> Response:
    """List every site's name."""
    return json_response({"sites": sites.names(current_runtime().redis)})


@bp.get("/api/sites/<name>")
def show_site(site: sites.Site) -> Response:
    """Show a site's settings."""
    return json_response(site.public())


@bp.post("/api/sites/<name>/tokens")
def add_token(name: str) -> tuple[Response, int]:
    """Create a token that may read a site's figures (or send its views: scope ingest)."""
    runtime = current_runtime()
    body = request.get_json(silent=True) or {}
    scope = body.get("scope", "read") if isinstance(body, dict) else None
    if scope not in ("read", "ingest"):
        params.bad_request("scope must be read or ingest")
    token_id, token = sites.mint_token(
        runtime.redis, scope, params.name(name, "site"), int(runtime.now.timestamp())
    )
    return json_response({"id": token_id, "token": token, "scope": scope, "site": name}), 201


@bp.delete("/api/tokens/<token_id>")
def revoke_token(token_id: str) -> Response:
    """Revoke a token: it stops working at once."""
    runtime = current_runtime()
    if not sites.revoke_token(runtime.redis, token_id):
        return json_error(404, f"no token {token_id}")
    return json_response({"revoked": token_id})


def _figures(site: sites.Site) -> dict[str, Any]:
    runtime = current_runtime()
    args = request.args
    tz = args.get("tz")
    if tz and tz != site.tz:
        params.bad_request(
            f"site {site.name} counts days in {site.tz}, fixed when views arrive; "
            f"omit tz or pass {site.tz}"
        )
    today = sites.local_day(site, runtime.now)
    asked = site_figures.span(today, args.get("range"), args.get("from"), args.get("to"))
    return site_figures.figures(runtime.redis, site, asked, runtime.now)


@bp.get("/api/sites/<name>/stats")
def site_stats(site: sites.Site) -> Response:
    """Totals, a time series and top lists of a site over ?from=&to= (its own days)."""
    return json_response(_figures(site))


@bp.get("/api/sites/<name>/export.csv")
def export_csv(site: sites.Site) -> Response:
    """Answer the figures of /stats as CSV rows: section, name, views, visitors."""
    return csv_answer(_figures(site))
