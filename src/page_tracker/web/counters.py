"""The counter API, call for call what CountAPI and Abacus clients send."""

import secrets
from collections.abc import Callable
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Blueprint, Response, current_app, jsonify, request
from redis import Redis

from page_tracker.extensions import known_secrets, now, redis_client
from page_tracker.services import counters
from page_tracker.web import names
from page_tracker.web.errors import json_error, unauthorized

bp = Blueprint("counters", __name__)
View = TypeVar("View", bound=Callable[..., Any])

# Endpoints any web page may call from a browser: reads and hits, never admin calls.
PUBLIC = {"counters.hit", "counters.get", "counters.info", "counters.history", "counters.stats"}
MAX_HISTORY_DAYS = 3660
DEFAULT_HISTORY_DAYS = 30


def route(rule: str, **options: Any) -> Callable[[View], View]:
    """Register a view at /verb/<namespace>/<key> and at /verb/<key> (namespace 'default')."""

    def register(view: View) -> View:
        bp.add_url_rule(f"{rule}/<namespace>/<key>", view_func=view, **options)
        bp.add_url_rule(
            f"{rule}/<key>", view_func=view, defaults={"namespace": names.DEFAULT_NAMESPACE},
            **options,
        )  # fmt: skip
        return view

    return register


def policy() -> counters.Policy:
    """Return the retention settings of the current app."""
    config = current_app.config
    return counters.Policy(config["RETENTION_DAYS"], config["HISTORY_DAYS"])


def checked(namespace: str, key: str) -> tuple[Redis, str, str]:
    """Return the Redis client and the validated names."""
    return redis_client(), names.name(namespace, "namespace"), names.name(key, "key")


def admin_key() -> str | None:
    """Return the admin key sent as `Authorization: Bearer ...` or `?token=`."""
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return request.args.get("token")


@bp.before_request
def check_callback() -> None:
    """Refuse a JSONP callback that is not a plain identifier before doing anything."""
    if "callback" in request.args:
        names.callback(request.args["callback"])


@bp.after_request
def shape(response: Response) -> Response:
    """Add CORS to public endpoints, and wrap JSON in the JSONP callback when one is asked."""
    if request.endpoint in PUBLIC:
        response.headers["Access-Control-Allow-Origin"] = "*"
    callback = request.args.get("callback")
    if callback and response.is_json and names.CALLBACK.fullmatch(callback):
        response.set_data(f"/**/{callback}({response.get_data(as_text=True).strip()});")
        response.mimetype = "application/javascript"
    return response


@bp.errorhandler(counters.CounterError)
def counter_error(error: counters.CounterError) -> Response:
    """Answer a refused operation with the status that names the reason."""
    status = {
        counters.NotFoundError: 404,
        counters.ExistsError: 409,
        counters.WrongAdminKeyError: 401,
        counters.NoAdminKeyError: 403,
        counters.ValueOverflowError: 400,
    }[type(error)]
    return unauthorized(str(error)) if status == 401 else json_error(status, str(error))


def visitor() -> str:
    """Return today's privacy-preserving id of the client (the IP is never stored)."""
    return counters.visitor_id(
        redis_client(), now(), request.remote_addr or "", request.user_agent.string,
        known_secrets(),
    )  # fmt: skip


@route("/hit", methods=["GET", "POST"])
def hit(namespace: str, key: str) -> Response:
    """Count a hit, creating the counter on its first."""
    redis, namespace, key = checked(namespace, key)
    value = counters.hit(redis, policy(), namespace, key, now(), visitor())
    return jsonify(value=value)


@route("/get")
def get(namespace: str, key: str) -> Response:
    """Read a counter's value."""
    redis, namespace, key = checked(namespace, key)
    return jsonify(value=counters.read(redis, namespace, key).value)


def _create(namespace: str, key: str, raw_value: str | None) -> tuple[Response, int]:
    redis, namespace, key = checked(namespace, key)
    value = names.integer(raw_value, "value", required=False)
    key_for_admin = counters.create(redis, policy(), namespace, key, value, now())
    body = jsonify(namespace=namespace, key=key, value=value, admin_key=key_for_admin)
    return body, 201


@bp.route("/create", methods=["GET", "POST"])
def create() -> tuple[Response, int]:
    """Create a counter from JSON, form or query fields; missing names are made up."""
    sent: dict[str, Any] = dict(request.args)
    sent.update(request.form)
    if request.is_json:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            names.bad_request("the JSON body must be an object")
        sent.update(body)
    value = sent.get("value")
    return _create(
        str(sent.get("namespace") or names.DEFAULT_NAMESPACE),
        str(sent.get("key") or secrets.token_hex(8)),
        None if value is None else str(value),
    )


@route("/create")
def create_named(namespace: str, key: str) -> tuple[Response, int]:
    """Create the named counter, at `?value=` or 0."""
    return _create(namespace, key, request.args.get("value"))


@route("/info")
def info(namespace: str, key: str) -> Response:
    """Describe a counter."""
    redis, namespace, key = checked(namespace, key)
    return jsonify(counters.info(redis, namespace, key))


def _change(namespace: str, key: str, operation: str, operand: int) -> tuple[int, int]:
    redis, namespace, key = checked(namespace, key)
    return counters.change(redis, policy(), namespace, key, admin_key(), operation, operand, now())


@route("/set", methods=["POST"])
def set_value(namespace: str, key: str) -> Response:
    """Set a counter's value (admin)."""
    value = names.integer(request.args.get("value"), "value")
    old, new = _change(namespace, key, "set", value)
    return jsonify(old_value=old, value=new)


@route("/update", methods=["POST"])
def update(namespace: str, key: str) -> Response:
    """Add a non-zero amount, which may be negative (admin)."""
    amount = names.integer(request.args.get("amount"), "amount", nonzero=True)
    _, new = _change(namespace, key, "add", amount)
    return jsonify(value=new)


@route("/reset", methods=["POST"])
def reset(namespace: str, key: str) -> Response:
    """Set a counter back to 0, keeping its history (admin)."""
    old, new = _change(namespace, key, "set", 0)
    return jsonify(old_value=old, value=new)


@route("/delete", methods=["POST"])
def delete(namespace: str, key: str) -> Response:
    """Delete a counter with its history (admin)."""
    old, _ = _change(namespace, key, "delete", 0)
    return jsonify(deleted=True, old_value=old)


@route("/history")
def history(namespace: str, key: str) -> Response:
    """Return hits and unique visitors per day, in `?tz=` (UTC by default)."""
    redis, namespace, key = checked(namespace, key)
    days = names.integer(request.args.get("days", str(DEFAULT_HISTORY_DAYS)), "days")
    limit = min(current_app.config["HISTORY_DAYS"], MAX_HISTORY_DAYS)
    if not 1 <= days <= limit:
        names.bad_request(f"days must be from 1 to {limit}")
    tz_name = request.args.get("tz", "UTC")
    try:
        tz = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        names.bad_request(f"tz must be an IANA time zone such as Europe/Paris, got {tz_name!r}")
    entries = counters.history(redis, policy(), namespace, key, days, tz, now())
    return jsonify(namespace=namespace, key=key, tz=tz_name, days=entries)


@bp.get("/stats")
def stats() -> Response:
    """Return server-wide figures."""
    return jsonify(counters.stats(redis_client()))
