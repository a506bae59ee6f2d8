"""Errors as answers: JSON bodies that say what went wrong, 503 with Retry-After for outages."""

from flask import Flask, Response, current_app
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response as BaseResponse

from page_tracker.store.connection import FULL, UNAVAILABLE
from page_tracker.web.answers import json_error


def unavailable_headers() -> dict[str, str]:
    """Return the headers of a 503: when to come back."""
    return {"Retry-After": str(current_app.config["RETRY_AFTER"])}


def unavailable(retry_after: int, *, full: bool = False) -> Response:
    """Return the JSON answer to a Redis outage (or a full Redis): 503, and when to come back."""
    message = (
        "The database is full and takes no writes now; try again later."
        if full
        else "The database is unavailable; try again."
    )
    response = json_error(503, message)
    response.headers["Retry-After"] = str(retry_after)
    return response


def http_error(error: HTTPException) -> BaseResponse:
    """Return an HTTP error as JSON, with the headers werkzeug chose (such as Allow on a 405)."""
    response = error.get_response()
    if error.response is not None:  # an answer of ours, such as names.bad_request's
        return response
    body = json_error(error.code or 500, error.description or error.name)
    response.set_data(body.get_data())
    response.content_type = body.content_type
    return response


def failure() -> Response:
    """Return the answer to an unexpected failure: a 500 that tells nothing of the cause."""
    return json_error(500, "Something went wrong on our side.")


def register_error_handlers(app: Flask) -> None:
    """Answer HTTP errors, Redis outages and unexpected failures with JSON bodies."""
    app.register_error_handler(HTTPException, http_error)

    def redis_unavailable(error: Exception) -> Response:
        current_app.logger.exception("Redis is unavailable")
        return unavailable(current_app.config["RETRY_AFTER"])

    for outage in UNAVAILABLE:
        app.register_error_handler(outage, redis_unavailable)

    @app.errorhandler(FULL)
    def redis_full(error: Exception) -> Response:
        current_app.logger.warning("Redis is full: %s", error)
        return unavailable(current_app.config["RETRY_AFTER"], full=True)

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Response:
        current_app.logger.exception("Unhandled error")
        return failure()
