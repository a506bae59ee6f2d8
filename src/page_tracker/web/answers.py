"""JSON answers, built directly: jsonify's pretty-printing checks cost time on every hit."""

import csv
import io
import json
from collections.abc import Mapping
from typing import Any, NamedTuple

from flask import Response
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.wrappers import Response as BaseResponse

from page_tracker.services import site_figures


class Reply(NamedTuple):
    """An answer of the busy endpoints, built without werkzeug's Response (it costs more)."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes

    @classmethod
    def of(cls, response: BaseResponse) -> "Reply":
        """Return werkzeug's `response` (an error's, say) as a Reply."""
        return cls(response.status_code, response.headers.to_wsgi_list(), response.get_data())

    @property
    def status_line(self) -> str:
        """Return the status as WSGI's start_response takes it: "200 OK"."""
        return f"{self.status} {HTTP_STATUS_CODES.get(self.status, '')}".rstrip()


def reply(status: int, content_type: str, body: bytes, *headers: tuple[str, str]) -> Reply:
    """Return a Reply of `body`, with its type, its length and `headers`."""
    sized = [("Content-Type", content_type), ("Content-Length", str(len(body)))]
    return Reply(status, [*sized, *headers], body)


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
