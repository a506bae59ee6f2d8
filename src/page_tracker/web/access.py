"""Who is calling: the API token a request carries and what it allows."""

import hashlib
import hmac
from typing import NoReturn

from flask import current_app, request

from page_tracker.extensions import Runtime
from page_tracker.services import sites
from page_tracker.web import params, ratelimit
from page_tracker.web.answers import json_error, unauthorized


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
    limit = ratelimit.failures()
    if limit is not None and limit.exhausted(request.remote_addr or ""):
        params.abort_with(
            json_error(429, "too many tokens that did not work came from this address; wait")
        )


def note_failure() -> None:
    """Count a token that did not work against this address's budget."""
    if (limit := ratelimit.failures()) is not None:
        limit.take(request.remote_addr or "")


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
    if (token := params.bearer_token()) is not None:
        return token_grant(app, token)
    if query_token := request.args.get("token"):
        held = token_grant(app, query_token)
        return held if held is not None and held.scope == "read" else None
    return None


def refuse(held: sites.Grant | None, what: str) -> NoReturn:
    """Stop the request: 401 without a valid token, 403 with one that does not allow `what`."""
    if held is None:
        params.abort_with(unauthorized(f"a valid API token is required to {what}"))
    params.abort_with(json_error(403, f"this token does not allow you to {what}"))
