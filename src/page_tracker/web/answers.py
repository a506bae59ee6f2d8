"""JSON answers, built directly: jsonify's pretty-printing checks cost time on every hit."""

import json
from typing import Any

from flask import Response
from werkzeug.http import HTTP_STATUS_CODES


def json_response(body: Any, status: int = 200) -> Response:
    """Return `body` as compact JSON with `status`."""
    return Response(
        json.dumps(body, separators=(",", ":")), status=status, mimetype="application/json"
    )


def json_error(status: int, message: str) -> Response:
    """Return a JSON answer with `status`, its standard name as `error`, and `message`."""
    return json_response({"error": HTTP_STATUS_CODES[status], "message": message}, status)


def unauthorized(message: str) -> Response:
    """Return a 401 that asks for a bearer token."""
    response = json_error(401, message)
    response.headers["WWW-Authenticate"] = 'Bearer realm="page-tracker"'
    return response
