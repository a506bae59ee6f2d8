"""The dashboard: server-rendered pages of sites and counters, with live updates."""

import threading
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    Flask,
    Request,
    Response,
    current_app,
    redirect,
    render_template,
    request,
    session,
    stream_with_context,
    url_for,
)
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.wrappers import Response as BaseResponse

from page_tracker.extensions import REDIS, Runtime, runtime
from page_tracker.services import counters, sessions, sites, stats
from page_tracker.services.ingest import plans
from page_tracker.store.connection import FULL, UNAVAILABLE
from page_tracker.web import auth
from page_tracker.web.answers import csv_answer
from page_tracker.web.dashboard import charts
from page_tracker.web.errors import unavailable_headers
from page_tracker.web.serving.streams import (
    BUSY,
    HANDED_OVER,
    KEEP_ALIVE,
    KEEP_ALIVE_S,
    READY,
    views_event,
)

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")
UTC = ZoneInfo("UTC")
csrf = CSRFProtect()
MAX_COUNTERS = 200
# The home page reads the figures of this many sites; it only names the others.
MAX_SITES = 50
# Live streams a worker of a plain WSGI server holds at once: each holds a request thread.
WSGI_LIVE_STREAMS = 1
WSGI_STREAMS = "page_tracker.live_streams"
SECURITY_HEADERS = {
    # No inline script or style anywhere: everything comes from this server's static files.
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    # Share links carry a token: never send the address to another site.
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


class SessionCookies(SecureCookieSessionInterface):
    """Flask's signed session cookie, marked Secure whenever the request came over HTTPS.

    Without SECRET_KEY, the key is fetched from Redis when a dashboard page first needs it, so
    every worker signs with the same key and the API never waits for it.
    """

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        """Open the session, fetching the shared signing key first if this worker lacks it."""
        if not app.secret_key and request.path.startswith(bp.url_prefix or "/"):
            app.secret_key = sites.session_secret(app.extensions[REDIS])
        return super().open_session(app, request)

    def get_cookie_secure(self, app: Flask) -> bool:
        """Say whether this request arrived over HTTPS (behind a proxy: see PROXY_COUNT)."""
        return request.is_secure


def init_dashboard(app: Flask, *more: Blueprint) -> None:
    """Set up sessions, CSRF protection and the live-stream budget for the dashboard.

    `more` are the dashboard's other blueprints (made with `dress`), registered with it.
    """
    app.secret_key = app.config["SECRET_KEY"] or None
    app.session_interface = SessionCookies()
    app.config.update(
        SESSION_COOKIE_SAMESITE="Lax", SESSION_COOKIE_HTTPONLY=True, WTF_CSRF_CHECK_DEFAULT=False
    )
    csrf.init_app(app)
    app.extensions[WSGI_STREAMS] = threading.BoundedSemaphore(WSGI_LIVE_STREAMS)
    for blueprint in (bp, *more):
        app.register_blueprint(blueprint)


@bp.app_template_filter("datetime")
def when(timestamp: int) -> str:
    """Show a unix time as a UTC date and time."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M UTC")


def secure(response: Response) -> Response:
    """Add the security headers to every dashboard answer; no page of it is ever cached."""
    response.headers.update(SECURITY_HEADERS)
    response.headers["Cache-Control"] = "no-store"
    return response


def _unavailable(error: Exception) -> tuple[str, int, dict[str, str]]:
    current_app.logger.exception("Redis is unavailable")
    message = "The database is unavailable; this page will work again soon."
    return render_template("dashboard/error.html", message=message), 503, unavailable_headers()


def csrf_failed(error: CSRFError) -> tuple[str, int]:
    """Explain a refused form rather than answer a bare 400."""
    return render_template("dashboard/error.html", message=error.description), 400


def refused(error: HTTPException) -> BaseResponse | tuple[str, int]:
    """Answer a refusal with a page that says why."""
    if error.response is not None:  # an answer already made, such as a redirect to sign in
        return error.get_response()
    message = error.description or error.name
    return render_template("dashboard/error.html", message=message), error.code or 500


def dress(blueprint: Blueprint) -> None:
    """Give a blueprint of the dashboard its security headers and its error pages."""
    blueprint.after_request(secure)
    for outage in (*UNAVAILABLE, FULL):
        blueprint.register_error_handler(outage, _unavailable)
    blueprint.register_error_handler(CSRFError, csrf_failed)
    blueprint.register_error_handler(HTTPException, refused)


dress(bp)


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
        csrf.protect()
        app = runtime()
        grant = auth.token_grant(app, request.form.get("token", "").strip())
        if grant is not None and grant.scope in ("admin", "read"):
            auth.sign_in(app, grant)
            return redirect(_back_to(request.args.get("next", "")))
        message = "That token is not an admin or read token that works here."
        return render_template("dashboard/login.html", message=message), 401
    return render_template("dashboard/login.html", message=message)


@bp.post("/logout")
def logout() -> BaseResponse:
    """Sign out."""
    csrf.protect()
    auth.sign_out(runtime())
    return redirect(url_for("dashboard.login"))


@bp.route("/share/<token>", methods=["GET", "POST"])
def share(token: str) -> str | BaseResponse:
    """Open a share link: a read token of one site signs its holder in to that site alone.

    Opening the link asks first: a page that links to it must not be able to replace the
    session its visitor has, so only the form's POST (with its CSRF token) signs in.
    """
    app = runtime()
    grant = auth.token_grant(app, token)
    if grant is None or grant.scope != "read":
        raise NotFound("This link was revoked.")
    if request.method == "GET":
        signed_in = auth.viewer(app)
        return render_template("dashboard/share.html", site=grant.site, signed_in=signed_in)
    csrf.protect()
    auth.sign_in(app, grant)
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
    app = runtime()
    if request.method == "GET":
        if not sessions.link_waits(app.redis, secret):
            raise NotFound(SPENT_LINK)
        return render_template("dashboard/sign_in_link.html")
    csrf.protect()
    if not auth.sign_in_by_link(app, secret):
        raise NotFound(SPENT_LINK)
    return redirect(url_for("dashboard.home"))


@bp.get("/")
@auth.signed_in
def home(grant: sites.Grant) -> str:
    """Show each site the signed-in token may see, with its figures over a range, and counters."""
    app = runtime()
    name = request.args.get("range") or stats.DEFAULT_RANGE
    if name not in stats.RANGES:
        raise NotFound(f"There is no range {name}: pick one of {', '.join(stats.RANGES)}.")
    site_names = sites.names(app.redis) if grant.scope == "admin" else [grant.site]
    shown = []
    for site_name in site_names[:MAX_SITES]:
        site = sites.load(app.redis, site_name)
        asked = stats.span(sites.local_day(site, app.now), name, None, None)
        seen = stats.overview(app.redis, site, asked, app.now)
        label = f"Views of {site_name}, {stats.RANGES[name][0].lower()}"
        shown.append({**seen, "name": site_name, "trend": charts.sparkline(seen["trend"], label)})
    return render_template(
        "dashboard/home.html",
        grant=grant,
        by_link=grant.token_id.startswith(sessions.LINK_SIGN_IN),
        ranges=stats.RANGES,
        range_name=name,
        sites=shown,
        other_sites=site_names[MAX_SITES:],
        counters=counters.totals(app.redis, MAX_COUNTERS) if grant.scope == "admin" else [],
        max_counters=MAX_COUNTERS,
    )


def _asked(app: Runtime, site: sites.Site) -> stats.Span:
    args = request.args
    today = sites.local_day(site, app.now)
    return stats.span(today, args.get("range"), args.get("from"), args.get("to"))


@bp.get("/sites/<name>")
@auth.sees_site()
def site(grant: sites.Grant, site: sites.Site) -> str:
    """Show a site's views and visitors over a range, its top lists and who is here now."""
    app = runtime()
    asked = _asked(app, site)
    figures = stats.figures(app.redis, site, asked, app.now, with_now=True)
    hourly = figures["interval"] == "hour"
    points = [
        charts.Point(p["time"][11:16] if hourly else p["time"][5:], p["views"], p["visitors"])
        for p in figures["series"]
    ]
    chart = charts.series_chart(
        points, f"Views and visitors of {site.name}", "hour" if hourly else "day"
    )
    # Only an admin sees (and may revoke) the site's share links.
    shares = _shares(app, site.name) if grant.scope == "admin" else []
    # Live refreshes ask for the same range: a custom one by its dates.
    dates = {"from": figures["from"], "to": figures["to"]} if asked.name == stats.CUSTOM else {}
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
        ranges=stats.RANGES,
        shares=shares,
        new_link=session.pop("new_link", ""),
    )


@bp.get("/sites/<name>/figures.json")
@auth.sees_site()
def figures(grant: sites.Grant, site: sites.Site) -> dict[str, Any]:
    """Answer the totals of the range shown and visitors now: what live updates refresh."""
    app = runtime()
    # Asked on every live view by every open page: the totals only, not the top lists.
    return stats.live_totals(app.redis, site, _asked(app, site), app.now)


@bp.get("/sites/<name>/live")
@auth.sees_site()
def live(grant: sites.Grant, site: sites.Site) -> Response:
    """Stream an event each time views of the site are counted (Server-Sent Events).

    Under `serve` the stream is handed over to the core, which answers it on the event loop
    (web/serving/streams.py).  Under a plain WSGI server the stream holds a request thread, so a worker
    serves at most WSGI_LIVE_STREAMS at once (beyond, a "busy" event sends the browser to
    polling).  Each ends after LIVE_STREAM_SECONDS, and the browser reconnects.
    """
    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    if HANDED_OVER in request.environ:
        request.environ[HANDED_OVER] = site.name
        return Response(b"", mimetype="text/event-stream", headers=headers)
    app = runtime()
    budget: threading.BoundedSemaphore = current_app.extensions[WSGI_STREAMS]
    # Waiting for a stream would hold a thread too. Say "busy" at once, as an event rather than
    # an error status: the page polls, and the browser asks again after `retry`.
    if not budget.acquire(blocking=False):
        app.metrics.sent_to_polling()
        return Response(BUSY, mimetype="text/event-stream", headers={"Cache-Control": "no-store"})
    seconds = current_app.config["LIVE_STREAM_SECONDS"]
    subscription = stats.live(app.redis, site)

    def events() -> Iterator[bytes]:
        app.metrics.stream_opened()
        try:
            yield READY
            deadline = wrote = time.monotonic()
            deadline += seconds
            while (left := deadline - time.monotonic()) > 0:
                message = subscription.get_message(timeout=min(left, KEEP_ALIVE_S))
                if message is not None:
                    yield views_event(message["data"])
                elif time.monotonic() - wrote >= KEEP_ALIVE_S:
                    yield KEEP_ALIVE  # writing is how a vanished client is noticed
                else:
                    continue
                wrote = time.monotonic()
        finally:
            subscription.close()
            budget.release()
            app.metrics.stream_closed()

    return Response(stream_with_context(events()), mimetype="text/event-stream", headers=headers)


def _shares(app: Runtime, name: str) -> list[dict[str, str]]:
    return [
        token
        for token in sites.tokens(app.redis)
        if token["scope"] == "read" and token["site"] == name
    ]


@bp.get("/sites/<name>/export.csv")
@auth.sees_site()
def export_csv(grant: sites.Grant, site: sites.Site) -> Response:
    """Download the figures of the range shown as CSV, signed in rather than with a token."""
    app = runtime()
    return csv_answer(stats.figures(app.redis, site, _asked(app, site), app.now))


@bp.post("/sites/<name>/shares")
@auth.sees_site(admin_only=True)
def add_share(grant: sites.Grant, site: sites.Site) -> BaseResponse:
    """Make a read-only share link of the site (admin)."""
    csrf.protect()
    app = runtime()
    _, token = sites.mint_token(app.redis, "read", site.name, int(app.now.timestamp()))
    # Shown once on the next page, from the session: a token in a URL would stay in history.
    session["new_link"] = url_for("dashboard.share", token=token, _external=True)
    return redirect(url_for("dashboard.site", name=site.name))


@bp.post("/sites/<name>/shares/<token_id>/revoke")
@auth.sees_site(admin_only=True)
def revoke_share(grant: sites.Grant, site: sites.Site, token_id: str) -> BaseResponse:
    """Revoke a share link: it stops working at once, for anyone who opened it too."""
    csrf.protect()
    app = runtime()
    # Only a share link of this site: the id comes from the URL, and could name any token.
    if not any(token["id"] == token_id for token in _shares(app, site.name)):
        raise NotFound("There is no such share link of this site.")
    sites.revoke_token(app.redis, token_id)
    return redirect(url_for("dashboard.site", name=site.name))


@bp.get("/sites/<name>/snippet")
@auth.sees_site()
def snippet(grant: sites.Grant, site: sites.Site) -> str:
    """Show the tags that make a site's pages report their views."""
    return render_template(
        "dashboard/snippet.html", grant=grant, site=site, base=request.host_url.rstrip("/")
    )
