"""Who is calling: the API token a request carries and what it allows."""

import hmac
from typing import NoReturn

from flask import current_app, request

from page_tracker.extensions import Runtime
from page_tracker.services import sites
from page_tracker.web import names
from page_tracker.web.answers import json_error, unauthorized

ADMIN = sites.Grant("admin")


def grant(app: Runtime) -> sites.Grant | None:
    """Return what the request's token allows (Bearer or ?token=), or None without a valid one."""
    token = names.bearer_token() or request.args.get("token")
    if not token:
        return None
    server_token = current_app.config["ADMIN_TOKEN"]
    # The server's own ADMIN_TOKEN is an admin token too.
    if server_token and hmac.compare_digest(token.encode(), server_token.encode()):
        return ADMIN
    return sites.authorize(app.redis, token)


def refuse(held: sites.Grant | None, what: str) -> NoReturn:
    """Stop the request: 401 without a valid token, 403 with one that does not allow `what`."""
    if held is None:
        names.abort_with(unauthorized(f"a valid API token is required to {what}"))
    names.abort_with(json_error(403, f"this token does not allow you to {what}"))
