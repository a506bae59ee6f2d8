"""The dashboard's pages: sign-in, sites and counters with their figures, and share links."""

from typing import Any

from flask import (
    Blueprint,
    Response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.exceptions import NotFound
from werkzeug.wrappers import Response as BaseResponse

from page_tracker.extensions import Runtime, current_runtime
from page_tracker.services import counters, sessions, site_figures, sites
from page_tracker.services.ingest import plans
from page_tracker.web import auth
from page_tracker.web.answers import csv_answer
from page_tracker.web.dashboard import charts, live
from page_tracker.web.dashboard.setup import PREFIX, dress, when

bp = Blueprint("dashboard", __name__, url_prefix=PREFIX)
MAX_COUNTERS = 200
# The home page reads the figures of this many sites; it only names the others.
MAX_SITES = 50
dress(bp)
bp.add_app_template_filter(when, "datetime")
bp.add_url_rule("/sites/<name>/live", view_func=live.live)


def _back_to(target: str) -> str:
    """Return `target` if it is a page of this dashboard, else the dashboard's home."""
    # No other host, and nothing that could end a header line: only plain visible ASCII.
    if target.startswith("/dashboard") and target.isascii() and target.isprintable():
        return target
    return url_for("dashboard.home")


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | BaseResponse | tuple[str, int]:
    """Sign in with an admin token or a site's read token."""
    message = ""
    if request.method == "POST":
        runtime = current_runtime()
        grant = auth.token_grant(runtime, request.form.get("token", "").strip())
        if grant is not None and grant.scope in ("admin", "read"):
            auth.sign_in(runtime, grant)
            return redirect(_back_to(request.args.get("next", "")))
        message = "That token is not an admin or read token that works here."
        return render_template("dashboard/login.html", message=message), 401
    return render_template("dashboard/login.html", message=message)


@bp.post("/logout")
def logout() -> BaseResponse:
    """Sign out."""
    auth.sign_out(current_runtime())
    return redirect(url_for("dashboard.login"))


@bp.route("/share/<token>", methods=["GET", "POST"])
def share(token: str) -> str | BaseResponse:
    """Open a share link: a read token of one site signs its holder in to that site alone.

    Opening the link asks first: a page that links to it must not be able to replace the
    session its visitor has, so only the form's POST (with its CSRF token) signs in.
    """
    runtime = current_runtime()
    grant = auth.token_grant(runtime, token)
    if grant is None or grant.scope != "read":
        raise NotFound("This link was revoked.")
    if request.method == "GET":
        signed_in = auth.viewer(runtime)
        return render_template("dashboard/share.html", site=grant.site, signed_in=signed_in)
    auth.sign_in(runtime, grant)
    return redirect(url_for("dashboard.site", name=grant.site))


SPENT_LINK = (
    "This sign-in link was used already or has expired. Restart page-tracker serve for a new "
    "one, or sign in with an admin token (page-tracker token add --scope admin)."
)


@bp.route("/sign-in/<secret>", methods=["GET", "POST"])
def sign_in_link(secret: str) -> str | BaseResponse:
    """Open the one-time link `serve` prints on a first run: it signs its holder in as admin.

    As with a share link, only the form's POST signs in: a page that links here cannot, and a
    link preview that fetches the page does not use the link up.
    """
    runtime = current_runtime()
    if request.method == "GET":
        if not sessions.link_waits(runtime.redis, secret):
            raise NotFound(SPENT_LINK)
        return render_template("dashboard/sign_in_link.html")
    if not auth.sign_in_by_link(runtime, secret):
        raise NotFound(SPENT_LINK)
    return redirect(url_for("dashboard.home"))


@bp.get("/")
def home(grant: sites.Grant) -> str:
    """Show each site the signed-in token may see, with its figures over a range, and counters."""
    runtime = current_runtime()
    name = request.args.get("range") or site_figures.DEFAULT_RANGE
    if name not in site_figures.RANGES:
        raise NotFound(f"There is no range {name}: pick one of {', '.join(site_figures.RANGES)}.")
    site_names = sites.names(runtime.redis) if grant.scope == "admin" else [grant.site]
    shown = []
    for site_name in site_names[:MAX_SITES]:
        site = sites.load(runtime.redis, site_name)
        asked = site_figures.span(sites.local_day(site, runtime.now), name, None, None)
        seen = site_figures.overview(runtime.redis, site, asked, runtime.now)
        label = f"Views of {site_name}, {site_figures.RANGES[name][0].lower()}"
        shown.append({**seen, "name": site_name, "trend": charts.sparkline(seen["trend"], label)})
    return render_template(
        "dashboard/home.html",
        grant=grant,
        by_link=grant.token_id.startswith(sessions.LINK_SIGN_IN),
        ranges=site_figures.RANGES,
        range_name=name,
        sites=shown,
        other_sites=site_names[MAX_SITES:],
        counters=counters.totals(runtime.redis, MAX_COUNTERS) if grant.scope == "admin" else [],
        max_counters=MAX_COUNTERS,
    )


def _asked(runtime: Runtime, site: sites.Site) -> site_figures.Span:
    args = request.args
    today = sites.local_day(site, runtime.now)
    return site_figures.span(today, args.get("range"), args.get("from"), args.get("to"))


@bp.get("/sites/<name>")
def site(grant: sites.Grant, site: sites.Site) -> str:
    """Show a site's views and visitors over a range, its top lists and who is here now."""
    runtime = current_runtime()
    asked = _asked(runtime, site)
    figures = site_figures.figures(runtime.redis, site, asked, runtime.now, with_now=True)
    hourly = figures["interval"] == "hour"
    points = [
        charts.Point(p["time"][11:16] if hourly else p["time"][5:], p["views"], p["visitors"])
        for p in figures["series"]
    ]
    chart = charts.series_chart(
        points, f"Views and visitors of {site.name}", "hour" if hourly else "day"
    )
    # Only an admin sees (and may revoke) the site's share links.
    shares = _shares(runtime, site.name) if grant.scope == "admin" else []
    # Live refreshes ask for the same range: a custom one by its dates.
    dates = (
        {"from": figures["from"], "to": figures["to"]} if asked.name == site_figures.CUSTOM else {}
    )
    figures_url = url_for("dashboard.figures", name=site.name, range=asked.name, **dates)
    csv_url = url_for("dashboard.export_csv", name=site.name, range=asked.name, **dates)
    return render_template(
        "dashboard/site.html",
        grant=grant,
        site=site,
        figures=figures,
        chart=chart,
        figures_url=figures_url,
        csv_url=csv_url,
        other=plans.OTHER,
        most_per_day=f"{plans.MAX_DISTINCT_PER_DAY:,}",
        range_name=asked.name,
        ranges=site_figures.RANGES,
        shares=shares,
        new_link=session.pop("new_link", ""),
    )


@bp.get("/sites/<name>/figures.json")
def figures(grant: sites.Grant, site: sites.Site) -> dict[str, Any]:
    """Answer the totals of the range shown and visitors now: what live updates refresh."""
    runtime = current_runtime()
    # Asked on every live view by every open page: the totals only, not the top lists.
    return site_figures.live_totals(runtime.redis, site, _asked(runtime, site), runtime.now)


def _shares(runtime: Runtime, name: str) -> list[dict[str, str]]:
    return [
        token
        for token in sites.tokens(runtime.redis)
        if token["scope"] == "read" and token["site"] == name
    ]


@bp.get("/sites/<name>/export.csv")
def export_csv(grant: sites.Grant, site: sites.Site) -> Response:
    """Download the figures of the range shown as CSV, signed in rather than with a token."""
    runtime = current_runtime()
    return csv_answer(site_figures.figures(runtime.redis, site, _asked(runtime, site), runtime.now))


@bp.post("/sites/<name>/shares")
def add_share(grant: sites.Grant, site: sites.Site) -> BaseResponse:
    """Make a read-only share link of the site (admin)."""
    runtime = current_runtime()
    _, token = sites.mint_token(runtime.redis, "read", site.name, int(runtime.now.timestamp()))
    # Shown once on the next page, from the session: a token in a URL would stay in history.
    session["new_link"] = url_for("dashboard.share", token=token, _external=True)
    return redirect(url_for("dashboard.site", name=site.name))


@bp.post("/sites/<name>/shares/<token_id>/revoke")
def revoke_share(grant: sites.Grant, site: sites.Site, token_id: str) -> BaseResponse:
    """Revoke a share link: it stops working at once, for anyone who opened it too."""
    runtime = current_runtime()
    # Only a share link of this site: the id comes from the URL, and could name any token.
    if not any(token["id"] == token_id for token in _shares(runtime, site.name)):
        raise NotFound("There is no such share link of this site.")
    sites.revoke_token(runtime.redis, token_id)
    return redirect(url_for("dashboard.site", name=site.name))


@bp.get("/sites/<name>/snippet")
def snippet(grant: sites.Grant, site: sites.Site) -> str:
    """Show the tags that make a site's pages report their views."""
    return render_template(
        "dashboard/snippet.html", grant=grant, site=site, base=request.host_url.rstrip("/")
    )
