"""The dashboard: server-rendered pages of sites and counters, with live updates."""

import threading
import time
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any, NoReturn

from flask import (
    Blueprint,
    Flask,
    Request,
    Response,
    abort,
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
from werkzeug.wrappers import Response as BaseResponse

from page_tracker.extensions import REDIS, Runtime, runtime
from page_tracker.services import analytics, counters, inbox, sessions, sites
from page_tracker.store.connection import FULL, UNAVAILABLE
from page_tracker.web import access, charts, params
from page_tracker.web.answers import csv_answer
from page_tracker.web.errors import unavailable_headers

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")
csrf = CSRFProtect()
RANGES = {
    "today": ("Today", 1),
    "7d": ("7 days", 7),
    "30d": ("30 days", 30),
    "12m": ("12 months", 365),
}
MAX_COUNTERS = 200
# Writing is the only way to notice a vanished client, so streams write this often.
KEEP_ALIVE_S = 2.0
BUSY_RETRY_MS = 5000
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


def init_dashboard(app: Flask) -> None:
    """Set up sessions, CSRF protection and the live-stream budget for the dashboard."""
    app.secret_key = app.config["SECRET_KEY"] or None
    app.session_interface = SessionCookies()
    app.config.update(
        SESSION_COOKIE_SAMESITE="Lax", SESSION_COOKIE_HTTPONLY=True, WTF_CSRF_CHECK_DEFAULT=False
    )
    csrf.init_app(app)
    app.extensions["page_tracker.live_streams"] = threading.BoundedSemaphore(
        app.config["LIVE_STREAMS"]
    )
    app.register_blueprint(bp)


@bp.after_request
def secure(response: Response) -> Response:
    """Add the security headers to every dashboard answer; no page of it is ever cached."""
    response.headers.update(SECURITY_HEADERS)
    response.headers["Cache-Control"] = "no-store"
    return response


def _unavailable(error: Exception) -> tuple[str, int, dict[str, str]]:
    current_app.logger.exception("Redis is unavailable")
    message = "The database is unavailable; this page will work again soon."
    return render_template("dashboard/error.html", message=message), 503, unavailable_headers()


for _outage in (*UNAVAILABLE, FULL):
    bp.register_error_handler(_outage, _unavailable)


@bp.errorhandler(CSRFError)
def csrf_failed(error: CSRFError) -> tuple[str, int]:
    """Explain a refused form rather than answer a bare 400."""
    return render_template("dashboard/error.html", message=error.description), 400


def _refuse(status: int, message: str) -> NoReturn:
    """Stop the request with an error page saying `message`."""
    abort(Response(render_template("dashboard/error.html", message=message), status))


def _lifetimes() -> sessions.Lifetimes:
    config = current_app.config
    return sessions.Lifetimes(config["SESSION_DAYS"] * 86_400, config["SESSION_IDLE_HOURS"] * 3600)


def _sign_in(app: Runtime, grant: sites.Grant) -> None:
    _sign_out(app)
    session.permanent = True  # the cookie lasts as long as the sign-in may
    session["grant"] = {"scope": grant.scope, "site": grant.site, "token_id": grant.token_id}
    session["id"] = sessions.start(app.redis, _lifetimes())
    session["since"] = app.now.timestamp()


def _sign_out(app: Runtime) -> None:
    if isinstance(session_id := session.get("id"), str):
        sessions.end(app.redis, session_id)
    session.clear()


def viewer(app: Runtime) -> sites.Grant | None:
    """Return who is signed in, if their token still works (revoking it signs them out)."""
    held, session_id, since = session.get("grant"), session.get("id"), session.get("since")
    if not (
        isinstance(held, dict) and isinstance(session_id, str) and isinstance(since, float | int)
    ):
        return None
    if not sessions.alive(app.redis, session_id, since, app.now.timestamp(), _lifetimes()):
        session.clear()
        return None
    token_id = str(held.get("token_id", ""))
    if token_id.startswith("server:"):
        alive = bool(current_app.config["ADMIN_TOKEN"]) and token_id == access.server_token_id()
    else:
        alive = sites.is_live(app.redis, token_id)
    if not alive:
        session.clear()
        return None
    return sites.Grant(str(held["scope"]), str(held["site"]), token_id)


def _signed_in(app: Runtime) -> sites.Grant:
    grant = viewer(app)
    if grant is None:
        abort(redirect(url_for("dashboard.login", next=request.full_path)))
    return grant


def _site_for(app: Runtime, name: str) -> tuple[sites.Grant, sites.Site]:
    grant = _signed_in(app)
    if not grant.can_read(name):
        _refuse(403, f"You may not see {name}.")
    try:
        return grant, sites.load(app.redis, params.name(name, "site"))
    except sites.UnknownSiteError:
        _refuse(404, f"There is no site {name}.")


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
        grant = access.token_grant(app, request.form.get("token", "").strip())
        if grant is not None and grant.scope in ("admin", "read"):
            _sign_in(app, grant)
            return redirect(_back_to(request.args.get("next", "")))
        message = "That token is not an admin or read token that works here."
        return render_template("dashboard/login.html", message=message), 401
    return render_template("dashboard/login.html", message=message)


@bp.post("/logout")
def logout() -> BaseResponse:
    """Sign out."""
    csrf.protect()
    _sign_out(runtime())
    return redirect(url_for("dashboard.login"))


@bp.route("/share/<token>", methods=["GET", "POST"])
def share(token: str) -> str | BaseResponse:
    """Open a share link: a read token of one site signs its holder in to that site alone.

    Opening the link asks first: a page that links to it must not be able to replace the
    session its visitor has, so only the form's POST (with its CSRF token) signs in.
    """
    app = runtime()
    grant = access.token_grant(app, token)
    if grant is None or grant.scope != "read":
        _refuse(404, "This link was revoked.")
    if request.method == "GET":
        return render_template("dashboard/share.html", site=grant.site, signed_in=viewer(app))
    csrf.protect()
    _sign_in(app, grant)
    return redirect(url_for("dashboard.site", name=grant.site))


@bp.get("/")
def home() -> str:
    """List the sites and counters the signed-in token may see."""
    app = runtime()
    grant = _signed_in(app)
    if grant.scope == "admin":
        site_names = sites.names(app.redis)
        counter_names = counters.names(app.redis, MAX_COUNTERS)
    else:
        site_names, counter_names = [grant.site], []
    return render_template(
        "dashboard/home.html",
        grant=grant,
        sites=site_names,
        counters=counter_names,
        max_counters=MAX_COUNTERS,
    )


def chosen_range(site: sites.Site, today: date) -> tuple[str, date, date]:
    """Return the range asked for (?range= or ?from=&to=) as (name, first day, last day)."""
    wanted = request.args.get("range", "30d")
    if request.args.get("from") or wanted == "custom":
        try:
            first = date.fromisoformat(request.args.get("from", ""))
            last = date.fromisoformat(request.args.get("to", "") or today.isoformat())
        except ValueError:
            params.bad_request("from and to must be dates such as 2026-11-24")
        if first > last or (last - first).days >= analytics.MAX_RANGE_DAYS:
            params.bad_request("from must come before to, within 10 years")
        return "custom", first, last
    if wanted not in RANGES:
        params.bad_request(f"range must be one of {', '.join(RANGES)} or custom")
    return wanted, today - timedelta(days=RANGES[wanted][1] - 1), today


def _figures(app: Runtime, site: sites.Site) -> tuple[str, dict[str, Any]]:
    today = analytics.local_day(site, app.now)
    range_name, first, last = chosen_range(site, today)
    inbox.settle(app.redis, site, app.now)
    figures = analytics.stats(app.redis, site, first, last, today)
    figures["now"] = analytics.visitors_now(app.redis, site, app.now)
    return range_name, figures


@bp.get("/sites/<name>")
def site(name: str) -> str:
    """Show a site's views and visitors over a range, its top lists and who is here now."""
    app = runtime()
    grant, found = _site_for(app, name)
    range_name, figures = _figures(app, found)
    hourly = figures["interval"] == "hour"
    points = [
        charts.Point(p["time"][11:16] if hourly else p["time"][5:], p["views"], p["visitors"])
        for p in figures["series"]
    ]
    chart = charts.series_chart(
        points, f"Views and visitors of {name}", "hour" if hourly else "day"
    )
    # Only an admin sees (and may revoke) the site's share links.
    shares = _shares(app, name) if grant.scope == "admin" else []
    # Live refreshes ask for the same range: a custom one by its dates.
    dates = {"from": figures["from"], "to": figures["to"]} if range_name == "custom" else {}
    figures_url = url_for("dashboard.figures", name=name, range=range_name, **dates)
    csv_url = url_for("dashboard.export_csv", name=name, range=range_name, **dates)
    return render_template(
        "dashboard/site.html",
        grant=grant,
        site=found,
        figures=figures,
        chart=chart,
        figures_url=figures_url,
        csv_url=csv_url,
        other=analytics.OTHER,
        most_per_day=f"{analytics.MAX_DISTINCT_PER_DAY:,}",
        range_name=range_name,
        ranges=RANGES,
        shares=shares,
        new_link=session.pop("new_link", ""),
    )


@bp.get("/sites/<name>/figures.json")
def figures(name: str) -> dict[str, Any]:
    """Answer the totals of the range shown and visitors now: what live updates refresh."""
    app = runtime()
    _, found = _site_for(app, name)
    # Asked on every live view by every open page: the totals only, not the top lists.
    _, first, last = chosen_range(found, analytics.local_day(found, app.now))
    inbox.settle(app.redis, found, app.now)
    return {
        "totals": analytics.totals(app.redis, found, first, last),
        "now": analytics.visitors_now(app.redis, found, app.now),
    }


@bp.get("/sites/<name>/live")
def live(name: str) -> Response:
    """Stream an event each time views of the site are counted (Server-Sent Events).

    A stream holds a request thread, so a worker serves at most LIVE_STREAMS at once (beyond,
    a "busy" event sends the browser to polling) and each ends after LIVE_STREAM_SECONDS (the
    browser reconnects). A vanished client is noticed at the next keep-alive write, within seconds.
    """
    app = runtime()
    _, found = _site_for(app, name)
    budget: threading.BoundedSemaphore = current_app.extensions["page_tracker.live_streams"]
    # Waiting for a stream would hold a thread too. Say "busy" at once, as an event rather than
    # an error status: the page polls, and the browser asks again after `retry`.
    if not budget.acquire(blocking=False):
        busy = f"retry: {BUSY_RETRY_MS}\nevent: busy\ndata: poll\n\n"
        return Response(busy, mimetype="text/event-stream", headers={"Cache-Control": "no-store"})
    seconds = current_app.config["LIVE_STREAM_SECONDS"]
    subscription = analytics.live(app.redis, found)

    def events() -> Iterator[str]:
        try:
            yield "retry: 2000\nevent: ready\ndata: live\n\n"
            deadline = wrote = time.monotonic()
            deadline += seconds
            while (left := deadline - time.monotonic()) > 0:
                message = subscription.get_message(timeout=min(left, KEEP_ALIVE_S))
                if message is not None:
                    yield f"event: views\ndata: {message['data']}\n\n"
                elif time.monotonic() - wrote >= KEEP_ALIVE_S:
                    # Writing is how a vanished client is noticed.
                    yield ": keep-alive\n\n"
                else:
                    continue
                wrote = time.monotonic()
        finally:
            subscription.close()
            budget.release()

    return Response(
        stream_with_context(events()),
        mimetype="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


def _shares(app: Runtime, name: str) -> list[dict[str, str]]:
    return [
        token
        for token in sites.tokens(app.redis)
        if token["scope"] == "read" and token["site"] == name
    ]


@bp.get("/sites/<name>/export.csv")
def export_csv(name: str) -> Response:
    """Download the figures of the range shown as CSV, signed in rather than with a token."""
    app = runtime()
    _, found = _site_for(app, name)
    return csv_answer(_figures(app, found)[1])


@bp.post("/sites/<name>/shares")
def add_share(name: str) -> BaseResponse:
    """Make a read-only share link of the site (admin)."""
    csrf.protect()
    app = runtime()
    grant, found = _site_for(app, name)
    if grant.scope != "admin":
        abort(403)
    _, token = sites.mint_token(app.redis, "read", found.name, int(app.now.timestamp()))
    # Shown once on the next page, from the session: a token in a URL would stay in history.
    session["new_link"] = url_for("dashboard.share", token=token, _external=True)
    return redirect(url_for("dashboard.site", name=name))


@bp.post("/sites/<name>/shares/<token_id>/revoke")
def revoke_share(name: str, token_id: str) -> BaseResponse:
    """Revoke a share link: it stops working at once, for anyone who opened it too."""
    csrf.protect()
    app = runtime()
    grant, _ = _site_for(app, name)
    if grant.scope != "admin":
        abort(403)
    # Only a share link of this site: the id comes from the URL, and could name any token.
    if not any(token["id"] == token_id for token in _shares(app, name)):
        _refuse(404, "There is no such share link of this site.")
    sites.revoke_token(app.redis, token_id)
    return redirect(url_for("dashboard.site", name=name))


@bp.get("/sites/<name>/snippet")
def snippet(name: str) -> str:
    """Show the tags that make a site's pages report their views."""
    app = runtime()
    grant, found = _site_for(app, name)
    return render_template(
        "dashboard/snippet.html", grant=grant, site=found, base=request.host_url.rstrip("/")
    )


@bp.get("/counters/<namespace>/<key>")
def counter(namespace: str, key: str) -> str:
    """Show a counter's history as a chart, its badge, and snippets to embed the badge."""
    app = runtime()
    grant = _signed_in(app)
    if grant.scope != "admin":
        _refuse(403, "Counters need an admin token.")
    namespace, key = params.name(namespace, "namespace"), params.name(key, "key")
    try:
        info = counters.info(app.redis, namespace, key)
        days = counters.history(
            app.redis, app.policy, namespace, key, 30, analytics.UTC_ZONE, app.now
        )
    except counters.NotFoundError:
        _refuse(404, "There is no such counter.")
    points = [charts.Point(d["date"][5:], d["hits"], d["unique"]) for d in days]
    chart = charts.series_chart(points, f"Hits of {namespace}/{key}", "day", what="hits")
    badge = f"{request.host_url.rstrip('/')}/badge/{namespace}/{key}.svg"
    return render_template(
        "dashboard/counter.html", grant=grant, info=info, chart=chart, days=days, badge=badge
    )
