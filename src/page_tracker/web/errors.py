"""Errors as answers, in one table: each refusal's status and JSON body, 503 for outages.

Services raise plain exceptions that know nothing of HTTP; STATUS says what each one answers.
Flask's error handlers and the fast app (busy/fast.py) both answer through `answer`.
"""

import logging

from flask import Flask, Response, current_app
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response as BaseResponse

from page_tracker.extensions import METRICS
from page_tracker.metrics import Unmeasured
from page_tracker.services import counters, idempotency, site_figures, sites, transfer
from page_tracker.services.budgets import OverBudgetError
from page_tracker.services.ingest.events import EventError, RefusedEventError
from page_tracker.store.connection import FULL, UNAVAILABLE
from page_tracker.web import ratelimit
from page_tracker.web.answers import json_error, unauthorized
from page_tracker.web.badge_svg import BadgeError
from page_tracker.web.bodies import BodyError

# A refusal's status, found by the error's class or the nearest base class listed.
STATUS: dict[type[Exception], int] = {
    counters.NotFoundError: 404,
    counters.ExistsError: 409,
    counters.WrongAdminKeyError: 401,
    counters.NoAdminKeyError: 403,
    counters.ValueOverflowError: 400,
    sites.UnknownSiteError: 404,
    sites.SiteExistsError: 409,
    sites.SiteError: 400,
    RefusedEventError: 403,
    EventError: 400,
    idempotency.InProgressError: 409,
    idempotency.IdempotencyError: 400,
    site_figures.RangeError: 400,
    transfer.MalformedImportError: 400,
    BodyError: 400,
    BadgeError: 400,
}
REFUSALS = tuple(STATUS)


def status_of(error: Exception) -> int:
    """Return the status that answers the refusal `error`."""
    for kind in type(error).__mro__:
        if (status := STATUS.get(kind)) is not None:
            return status
    raise TypeError(f"{type(error).__name__} is not a refusal") from error


def refusal(error: Exception) -> Response:
    """Return the answer to a refusal: its status, and its message as the JSON body's."""
    status = status_of(error)
    return unauthorized(str(error)) if status == 401 else json_error(status, str(error))


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
    if error.response is not None:  # an answer of ours, such as params.bad_request's
        return response
    body = json_error(error.code or 500, error.description or error.name)
    response.set_data(body.get_data())
    response.content_type = body.content_type
    return response


class ApologyError(Exception):
    """The seed page failed on a Redis error (its cause): it apologises in plain text."""


APOLOGY = "Sorry, something went wrong \N{PENSIVE FACE}"


def apology(error: ApologyError, retry_after: int) -> BaseResponse:
    """Return the seed page's plain-text apology: 503 for a Redis outage, else 500."""
    response = BaseResponse(APOLOGY, 500, content_type="text/plain; charset=utf-8")
    if isinstance(error.__cause__, UNAVAILABLE):
        response.status_code = 503
        response.headers["Retry-After"] = str(retry_after)
    return response


def failure() -> Response:
    """Return the answer to an unexpected failure: a 500 that tells nothing of the cause."""
    return json_error(500, "Something went wrong on our side.")


def answer(
    error: Exception, log: logging.Logger, retry_after: int, metrics: Unmeasured
) -> BaseResponse:
    """Return the answer to any error a request raised, logging what the operator must see."""
    if isinstance(error, HTTPException):
        return http_error(error)
    if isinstance(error, OverBudgetError):
        return ratelimit.refusal(error, metrics)
    if isinstance(error, REFUSALS):
        return refusal(error)
    if isinstance(error, ApologyError):
        log.error("%s", error, exc_info=error.__cause__)
        return apology(error, retry_after)
    if isinstance(error, (FULL, *UNAVAILABLE)):
        full = isinstance(error, FULL)
        if full:
            log.warning("Redis is full: %s", error)
        else:
            log.exception("Redis is unavailable")
        return unavailable(retry_after, full=full)
    log.exception("Unhandled error")
    return failure()


def register_error_handlers(app: Flask) -> None:
    """Answer every error a view raises through `answer`."""

    def handle(error: Exception) -> BaseResponse:
        return answer(
            error,
            current_app.logger,
            current_app.config["RETRY_AFTER"],
            current_app.extensions[METRICS],
        )

    app.register_error_handler(Exception, handle)
