"""Who may call what, and the CSRF check of forms, as the endpoint table declares them.

API calls carry a token (`Authorization: Bearer`, or `?token=` for a site's read token);
dashboard pages a signed-in session.  The table (endpoints.py) names one of these decorators
for each view that needs it; the decorator checks before the view runs and hands it what the
check found:

- `server_admin`: the server's ADMIN_TOKEN only;
- `admin(what)`: an admin token (the server's is one too);
- `reads_site`: a token that may read the site in the URL; the view gets `site`;
- `ingests`: any live token; the view gets `grant`, and checks each event's site against it;
- `counter_admin`: a counter's admin key, or the server's token; the view gets `given` and
  `owner`, and a key that does not match counts against the failed-token budget;
- `signed_in` and `sees_site(admin_only)`: a dashboard session; the view gets `grant`
  (and `site`).

Every token looked up spends the failed-token budget when it does not work.  A form the
table marks with CSRF passes `checks_form` (after the decorator) before its view runs.
"""

import functools
import hashlib
import hmac
from collections.abc import Callable
from typing import Any, NoReturn

from flask import abort, current_app, redirect, request, session, url_for
from flask_wtf.csrf import CSRFProtect
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.exceptions import Forbidden, NotFound, Unauthorized

from page_tracker.extensions import Runtime, current_runtime
from page_tracker.services import counters, sessions, sites
from page_tracker.web import params, ratelimit

View = Callable[..., Any]
# Flask-WTF's CSRF tokens, checked only where the endpoint table says (WTF_CSRF_CHECK_DEFAULT off).
csrf = CSRFProtect()
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
BEARER = WWWAuthenticate("bearer", {"realm": "page-tracker"})


def bearer_token() -> str | None:
    """Return the token sent as `Authorization: Bearer ...`, if any."""
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return None


def server_token_id() -> str:
    """Return the id that stands for the server's ADMIN_TOKEN: it changes when the token does."""
    digest = hashlib.sha256(current_app.config["ADMIN_TOKEN"].encode()).hexdigest()
    return "server:" + digest[:32]


def is_server_token(token: str | None) -> bool:
    """Say whether `token` is the server's ADMIN_TOKEN."""
    server_token = current_app.config["ADMIN_TOKEN"]
    return bool(server_token and token) and hmac.compare_digest(
        str(token).encode(), server_token.encode()
    )


def check_failures() -> None:
    """Stop with a 429 if this address has sent too many tokens that did not work."""
    ratelimit.check_failures(current_runtime(), request.remote_addr or "")


def note_failure() -> None:
    """Count a token that did not work against this address's budget."""
    ratelimit.note_failure(current_runtime(), request.remote_addr or "")


def token_grant(runtime: Runtime, token: str) -> sites.Grant | None:
    """Return what `token` allows, or None if it is not a live token (a counted failure)."""
    check_failures()
    # The server's own ADMIN_TOKEN is an admin token too.
    if is_server_token(token):
        return sites.Grant("admin", token_id=server_token_id())
    grant = sites.authorize(runtime.redis, token)
    if grant is None:
        note_failure()
    return grant


def presented_grant(runtime: Runtime) -> sites.Grant | None:
    """Return what the request's token allows, or None without a valid one.

    A token in the query string ends up in logs, history and Referer headers, so ?token= is
    taken only for a site's read token (a figure embedded in a page); any other token must
    come in the Authorization header.
    """
    if (token := bearer_token()) is not None:
        return token_grant(runtime, token)
    if query_token := request.args.get("token"):
        grant = token_grant(runtime, query_token)
        return grant if grant is not None and grant.scope == "read" else None
    return None


def refuse(grant: sites.Grant | None, what: str) -> NoReturn:
    """Stop the request: 401 without a valid token, 403 with one that does not allow `what`."""
    if grant is None:
        raise Unauthorized(f"a valid API token is required to {what}", www_authenticate=BEARER)
    raise Forbidden(f"this token does not allow you to {what}")


def server_admin(view: View) -> View:
    """Let only the server's ADMIN_TOKEN call `view`."""

    @functools.wraps(view)
    def checked(*args: Any, **kwargs: Any) -> Any:
        if not current_app.config["ADMIN_TOKEN"]:
            raise Forbidden("server admin calls are off: set ADMIN_TOKEN")
        check_failures()
        if not is_server_token(bearer_token()):
            note_failure()
            raise Unauthorized("the server admin token is required", www_authenticate=BEARER)
        return view(*args, **kwargs)

    return checked


def admin(what: str) -> Callable[[View], View]:
    """Let only an admin token call the view; refuse others, saying they may not `what`."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def checked(*args: Any, **kwargs: Any) -> Any:
            grant = presented_grant(current_runtime())
            if grant is None or grant.scope != "admin":
                refuse(grant, what)
            return view(*args, **kwargs)

        return checked

    return decorate


def reads_site(view: View) -> View:
    """Let a token that may read the site `name` call the view, with the site loaded."""

    @functools.wraps(view)
    def checked(name: str, **kwargs: Any) -> Any:
        runtime = current_runtime()
        grant = presented_grant(runtime)
        if grant is None or not grant.can_read(params.name(name, "site")):
            refuse(grant, f"read site {name}")
        return view(site=sites.load(runtime.redis, name), **kwargs)

    return checked


def ingests(view: View) -> View:
    """Let any live token call the view, which gets it as `grant` to check each event's site."""

    @functools.wraps(view)
    def checked(*args: Any, **kwargs: Any) -> Any:
        grant = presented_grant(current_runtime())
        if grant is None:
            refuse(grant, "send page views in batches")
        return view(*args, grant=grant, **kwargs)

    return checked


def counter_admin(view: View) -> View:
    """Hand the view the admin key sent (`given`) and whether it is the server's (`owner`).

    The server admin may change any counter: so a counter someone hit before it was created,
    and that has no admin key, can still be deleted and created anew.
    """

    @functools.wraps(view)
    def checked(*args: Any, **kwargs: Any) -> Any:
        given = bearer_token() or request.args.get("token")
        check_failures()
        try:
            return view(*args, given=given, owner=is_server_token(given), **kwargs)
        except counters.WrongAdminKeyError:
            note_failure()
            raise

    return checked


# Dashboard sessions.


def _lifetimes() -> sessions.Lifetimes:
    config = current_app.config
    return sessions.Lifetimes(config["SESSION_DAYS"] * 86_400, config["SESSION_IDLE_HOURS"] * 3600)


def sign_in(runtime: Runtime, grant: sites.Grant) -> None:
    """Start a dashboard session for `grant`, ending any other this browser had."""
    sign_out(runtime)
    session.permanent = True  # the cookie lasts as long as the sign-in may
    session["grant"] = {"scope": grant.scope, "site": grant.site, "token_id": grant.token_id}
    session["id"] = sessions.start(runtime.redis, _lifetimes())
    session["since"] = runtime.now.timestamp()


def sign_in_by_link(runtime: Runtime, secret: str) -> bool:
    """Sign this browser in as admin with a one-time link; False if the link is spent."""
    token_id = sessions.use_link(runtime.redis, secret)
    if token_id is None:
        return False
    sign_in(runtime, sites.Grant("admin", token_id=token_id))
    return True


def sign_out(runtime: Runtime) -> None:
    """End this browser's dashboard session."""
    if isinstance(session_id := session.get("id"), str):
        sessions.end(runtime.redis, session_id)
    session.clear()


def viewer(runtime: Runtime) -> sites.Grant | None:
    """Return who is signed in, if their token still works (revoking it signs them out)."""
    stored, session_id, since = session.get("grant"), session.get("id"), session.get("since")
    if not (
        isinstance(stored, dict) and isinstance(session_id, str) and isinstance(since, float | int)
    ):
        return None
    if not sessions.alive(runtime.redis, session_id, since, runtime.now.timestamp(), _lifetimes()):
        session.clear()
        return None
    token_id = str(stored.get("token_id", ""))
    if token_id.startswith("server:"):
        alive = bool(current_app.config["ADMIN_TOKEN"]) and token_id == server_token_id()
    elif token_id.startswith(sessions.LINK_SIGN_IN):
        alive = True  # a one-time link's sign-in lasts as long as its session
    else:
        alive = sites.is_live(runtime.redis, token_id)
    if not alive:
        session.clear()
        return None
    return sites.Grant(str(stored["scope"]), str(stored["site"]), token_id)


def _signed_in(runtime: Runtime) -> sites.Grant:
    grant = viewer(runtime)
    if grant is None:
        abort(redirect(url_for("dashboard.login", next=request.full_path)))
    return grant


def signed_in(view: View) -> View:
    """Let a signed-in dashboard user see the page, which gets their `grant`; others sign in."""

    @functools.wraps(view)
    def checked(*args: Any, **kwargs: Any) -> Any:
        return view(*args, grant=_signed_in(current_runtime()), **kwargs)

    return checked


def signed_in_admin(view: View) -> View:
    """Let only a dashboard user signed in as admin see the page, which gets their `grant`."""

    @functools.wraps(view)
    def checked(*args: Any, **kwargs: Any) -> Any:
        grant = _signed_in(current_runtime())
        if grant.scope != "admin":
            raise Forbidden("Only an admin may do this.")
        return view(*args, grant=grant, **kwargs)

    return checked


def sees_site(*, admin_only: bool = False) -> Callable[[View], View]:
    """Let a dashboard user who may see the site `name` (as an admin, if `admin_only`) in."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def checked(name: str, **kwargs: Any) -> Any:
            runtime = current_runtime()
            grant = _signed_in(runtime)
            if not grant.can_read(name):
                raise Forbidden(f"You may not see {name}.")
            if admin_only and grant.scope != "admin":
                raise Forbidden("Only an admin may do this.")
            try:
                found = sites.load(runtime.redis, params.name(name, "site"))
            except sites.UnknownSiteError:
                raise NotFound(f"There is no site {name}.") from None
            return view(grant=grant, site=found, **kwargs)

        return checked

    return decorate


def checks_form(view: View) -> View:
    """Let a request other than GET, HEAD or OPTIONS reach `view` only with its CSRF token."""

    @functools.wraps(view)
    def checked(*args: Any, **kwargs: Any) -> Any:
        if request.method not in SAFE_METHODS:
            csrf.protect()
        return view(*args, **kwargs)

    return checked
