"""JSON answers, built directly: jsonify's pretty-printing checks cost time on every hit."""

import csv
import io
import json
from collections.abc import Mapping
from typing import Any

from flask import Response
from werkzeug.http import HTTP_STATUS_CODES

from page_tracker.services import site_figures


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


def csv_answer(figures: Mapping[str, Any]) -> Response:
    """Return a site's figures (of site_figures.figures) as a CSV download named after the range."""
    text = io.StringIO()
    csv.writer(text).writerows(site_figures.rows(figures))
    filename = f"{figures['site']}-{figures['from']}-{figures['to']}.csv"
    return Response(
        text.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
