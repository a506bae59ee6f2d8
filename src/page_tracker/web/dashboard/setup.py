"""What every dashboard page shares: signed sessions, CSRF, security headers and error pages."""

import threading
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, Flask, Request, Response, current_app, render_template, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response as BaseResponse

from page_tracker.extensions import REDIS
from page_tracker.services import sites
from page_tracker.store.connection import FULL, UNAVAILABLE
from page_tracker.web import auth
from page_tracker.web.errors import unavailable_headers

PREFIX = "/dashboard"
UTC = ZoneInfo("UTC")
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
        if not app.secret_key and request.path.startswith(PREFIX):
            app.secret_key = sites.session_secret(app.extensions[REDIS])
        return super().open_session(app, request)

    def get_cookie_secure(self, app: Flask) -> bool:
        """Say whether this request arrived over HTTPS (behind a proxy: see PROXY_COUNT)."""
        return request.is_secure


def init_dashboard(app: Flask, *blueprints: Blueprint) -> None:
    """Set up sessions, CSRF protection and the live-stream budget; register `blueprints`.

    Each of `blueprints` is the dashboard's, dressed with `dress`.
    """
    app.secret_key = app.config["SECRET_KEY"] or None
    app.session_interface = SessionCookies()
    app.config.update(
        SESSION_COOKIE_SAMESITE="Lax", SESSION_COOKIE_HTTPONLY=True, WTF_CSRF_CHECK_DEFAULT=False
    )
    auth.csrf.init_app(app)
    app.extensions[WSGI_STREAMS] = threading.BoundedSemaphore(WSGI_LIVE_STREAMS)
    for blueprint in blueprints:
        app.register_blueprint(blueprint)


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
