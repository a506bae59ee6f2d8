"""Who may call what, declared at the route.

API calls carry a token (`Authorization: Bearer`, or `?token=` for a site's read token);
dashboard pages a signed-in session.  A view says who may call it with one decorator, which
checks before the view runs and hands it what the check found:

- `server_admin`: the server's ADMIN_TOKEN only;
- `admin(what)`: an admin token (the server's is one too);
- `reads_site`: a token that may read the site in the URL; the view gets `site`;
- `ingests`: any live token; the view gets `held`, and checks each event's site against it;
- `counter_admin`: a counter's admin key, or the server's token; the view gets `given` and
  `owner`, and a key that does not match counts against the failed-token budget;
- `signed_in` and `sees_site(admin_only)`: a dashboard session; the view gets `grant`
  (and `site`).

Every token looked up spends the failed-token budget when it does not work.
"""

import functools
import hashlib
import hmac
from collections.abc import Callable
from typing import Any, NoReturn

from flask import abort, current_app, redirect, request, session, url_for
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.exceptions import Forbidden, NotFound, Unauthorized

from page_tracker.extensions import Runtime, runtime
from page_tracker.services import counters, sessions, sites
from page_tracker.web import params, ratelimit

View = Callable[..., Any]
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
    ratelimit.check_failures(runtime(), request.remote_addr or "")


def note_failure() -> None:
    """Count a token that did not work against this address's budget."""
    ratelimit.note_failure(runtime(), request.remote_addr or "")


def token_grant(app: Runtime, token: str) -> sites.Grant | None:
    """Return what `token` allows, or None if it is not a live token (a counted failure)."""
    check_failures()
    # The server's own ADMIN_TOKEN is an admin token too.
    if is_server_token(token):
        return sites.Grant("admin", token_id=server_token_id())
    held = sites.authorize(app.redis, token)
    if held is None:
        note_failure()
    return held


def grant(app: Runtime) -> sites.Grant | None:
    """Return what the request's token allows, or None without a valid one.

    A token in the query string ends up in logs, history and Referer headers, so ?token= is
    taken only for a site's read token (a figure embedded in a page); any other token must
    come in the Authorization header.
    """
    if (token := bearer_token()) is not None:
        return token_grant(app, token)
    if query_token := request.args.get("token"):
        held = token_grant(app, query_token)
        return held if held is not None and held.scope == "read" else None
    return None


def refuse(held: sites.Grant | None, what: str) -> NoReturn:
    """Stop the request: 401 without a valid token, 403 with one that does not allow `what`."""
    if held is None:
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
            held = grant(runtime())
            if held is None or held.scope != "admin":
                refuse(held, what)
            return view(*args, **kwargs)

        return checked

    return decorate


def reads_site(view: View) -> View:
    """Let a token that may read the site `name` call the view, with the site loaded."""

    @functools.wraps(view)
    def checked(name: str, **kwargs: Any) -> Any:
        app = runtime()
        held = grant(app)
        if held is None or not held.can_read(params.name(name, "site")):
            refuse(held, f"read site {name}")
        return view(site=sites.load(app.redis, name), **kwargs)

    return checked


def ingests(view: View) -> View:
    """Let any live token call the view, which gets it as `held` to check each event's site."""

    @functools.wraps(view)
    def checked(*args: Any, **kwargs: Any) -> Any:
        held = grant(runtime())
        if held is None:
            refuse(held, "send page views in batches")
        return view(*args, held=held, **kwargs)

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


def sign_in(app: Runtime, held: sites.Grant) -> None:
    """Start a dashboard session for `held`, ending any other this browser had."""
    sign_out(app)
    session.permanent = True  # the cookie lasts as long as the sign-in may
    session["grant"] = {"scope": held.scope, "site": held.site, "token_id": held.token_id}
    session["id"] = sessions.start(app.redis, _lifetimes())
    session["since"] = app.now.timestamp()


def sign_in_by_link(app: Runtime, secret: str) -> bool:
    """Sign this browser in as admin with a one-time link; False if the link is spent."""
    token_id = sessions.use_link(app.redis, secret)
    if token_id is None:
        return False
    sign_in(app, sites.Grant("admin", token_id=token_id))
    return True


def sign_out(app: Runtime) -> None:
    """End this browser's dashboard session."""
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
        alive = bool(current_app.config["ADMIN_TOKEN"]) and token_id == server_token_id()
    elif token_id.startswith(sessions.LINK_SIGN_IN):
        alive = True  # a one-time link's sign-in lasts as long as its session
    else:
        alive = sites.is_live(app.redis, token_id)
    if not alive:
        session.clear()
        return None
    return sites.Grant(str(held["scope"]), str(held["site"]), token_id)


def _signed_in(app: Runtime) -> sites.Grant:
    held = viewer(app)
    if held is None:
        abort(redirect(url_for("dashboard.login", next=request.full_path)))
    return held


def signed_in(view: View) -> View:
    """Let a signed-in dashboard user see the page, which gets their `grant`; others sign in."""

    @functools.wraps(view)
    def checked(*args: Any, **kwargs: Any) -> Any:
        return view(*args, grant=_signed_in(runtime()), **kwargs)

    return checked


def signed_in_admin(view: View) -> View:
    """Let only a dashboard user signed in as admin see the page, which gets their `grant`."""

    @functools.wraps(view)
    def checked(*args: Any, **kwargs: Any) -> Any:
        held = _signed_in(runtime())
        if held.scope != "admin":
            raise Forbidden("Only an admin may do this.")
        return view(*args, grant=held, **kwargs)

    return checked


def sees_site(*, admin_only: bool = False) -> Callable[[View], View]:
    """Let a dashboard user who may see the site `name` (as an admin, if `admin_only`) in."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def checked(name: str, **kwargs: Any) -> Any:
            app = runtime()
            held = _signed_in(app)
            if not held.can_read(name):
                raise Forbidden(f"You may not see {name}.")
            if admin_only and held.scope != "admin":
                raise Forbidden("Only an admin may do this.")
            try:
                found = sites.load(app.redis, params.name(name, "site"))
            except sites.UnknownSiteError:
                raise NotFound(f"There is no site {name}.") from None
            return view(grant=held, site=found, **kwargs)

        return checked

    return decorate
