"""The counter API, call for call what CountAPI and Abacus clients send."""

import secrets
from collections.abc import Callable, Mapping
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Blueprint, Response, current_app, request
from werkzeug.wrappers import Response as BaseResponse

from page_tracker.extensions import Runtime, current_runtime
from page_tracker.services import counter_figures, counters, visitors
from page_tracker.store.budgets import Spent
from page_tracker.web import params, ratelimit
from page_tracker.web.answers import Reply, json_response, reply
from page_tracker.web.busy.incoming import Incoming

bp = Blueprint("counters", __name__)
View = TypeVar("View", bound=Callable[..., Any])
MAX_HISTORY_DAYS = 3660
DEFAULT_HISTORY_DAYS = 30


def route(rule: str, **options: Any) -> Callable[[View], View]:
    """Register a view at /verb/<namespace>/<key> and at /verb/<key> (namespace 'default')."""

    def register(view: View) -> View:
        bp.add_url_rule(f"{rule}/<namespace>/<key>", view_func=view, **options)
        bp.add_url_rule(
            f"{rule}/<key>",
            view_func=view,
            defaults={"namespace": params.DEFAULT_NAMESPACE},
            **options,
        )
        return view

    return register


def checked(namespace: str, key: str) -> tuple[Runtime, str, str]:
    """Return the request's runtime and the validated names."""
    return current_runtime(), params.name(namespace, "namespace"), params.name(key, "key")


@bp.before_request
def check_callback() -> None:
    """Refuse a JSONP callback that is not a plain identifier before doing anything."""
    if request.query_string:
        params.jsonp_callback(request.args)


@bp.after_request
def shape(response: Response) -> Response:
    """Wrap JSON in the JSONP callback when one is asked."""
    if request.query_string:  # the common case, none, costs nothing
        params.jsonp(response, request.args)
    return response


async def count_hit(
    runtime: Runtime, namespace: str, key: str, ip: str, user_agent: str
) -> tuple[int, Spent | None]:
    """Count a hit on a checked counter name by the client at `ip`, spending its budget.

    Return the new value and what was spent.  The visitor id is today's keyed hash of IP and
    User-Agent; the IP is never stored.
    """
    visitor = visitors.visitor_id(runtime.redis, runtime.now, ip, user_agent, runtime.secrets)
    charge = ratelimit.charge(runtime, ratelimit.WRITES, ip, namespace)
    value, spent = await counters.hit(
        runtime.calls, runtime.policy, namespace, key, runtime.now, visitor, charge
    )
    runtime.metrics.hit()
    return value, spent


async def answer_hit(runtime: Runtime, incoming: Incoming, names: Mapping[str, str]) -> Reply:
    """Count a hit, creating the counter on its first (served by fast.py)."""
    # A bad callback is refused before anything is counted.
    callback = params.jsonp_callback(incoming.args) if incoming.query_string else None
    namespace = params.name(names["namespace"], "namespace")
    key = params.name(names["key"], "key")
    ip, agent = incoming.remote_addr, incoming.header("USER_AGENT") or ""
    value, spent = await count_hit(runtime, namespace, key, ip, agent)
    body = f'{{"value":{value}}}'
    if callback:
        return reply(
            200,
            params.JAVASCRIPT,
            params.wrapped(body, callback).encode(),
            *ratelimit.headers(spent),
        )
    return reply(200, "application/json", body.encode(), *ratelimit.headers(spent))


@route("/get")
def get(namespace: str, key: str) -> Response:
    """Read a counter's value."""
    runtime, namespace, key = checked(namespace, key)
    return json_response({"value": counters.read(runtime.redis, namespace, key).value})


def _create(namespace: str, key: str, raw_value: str | None) -> tuple[BaseResponse, int]:
    runtime, namespace, key = checked(namespace, key)
    value = params.integer(raw_value, "value", required=False)
    spent = ratelimit.spend(runtime, ratelimit.WRITES, request.remote_addr or "", namespace)
    key_for_admin = counters.create(
        runtime.redis, runtime.policy, namespace, key, value, runtime.now
    )
    body = json_response(
        {"namespace": namespace, "key": key, "value": value, "admin_key": key_for_admin}
    )
    return ratelimit.with_headers(body, spent), 201


@bp.route("/create", methods=["GET", "POST"])
def create() -> tuple[BaseResponse, int]:
    """Create a counter from JSON, form or query fields; missing names are made up."""
    incoming: dict[str, Any] = dict(request.args)
    incoming.update(request.form)
    if request.is_json:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            params.bad_request("the JSON body must be an object")
        incoming.update(body)
    value = incoming.get("value")
    return _create(
        str(incoming.get("namespace") or params.DEFAULT_NAMESPACE),
        str(incoming.get("key") or secrets.token_hex(8)),
        None if value is None else str(value),
    )


@route("/create")
def create_named(namespace: str, key: str) -> tuple[BaseResponse, int]:
    """Create the named counter, at `?value=` or 0."""
    return _create(namespace, key, request.args.get("value"))


@route("/info")
def info(namespace: str, key: str) -> Response:
    """Describe a counter."""
    runtime, namespace, key = checked(namespace, key)
    return json_response(counters.info(runtime.redis, namespace, key))


def _change(
    namespace: str, key: str, operation: str, operand: int, given: str | None, owner: bool
) -> tuple[int, int]:
    runtime, namespace, key = checked(namespace, key)
    return counters.change(
        runtime.redis,
        runtime.policy,
        namespace,
        key,
        given,
        operation,
        operand,
        runtime.now,
        owner=owner,
    )


@route("/set", methods=["POST"])
def set_value(namespace: str, key: str, given: str | None, owner: bool) -> Response:
    """Set a counter's value (admin)."""
    value = params.integer(request.args.get("value"), "value")
    old, new = _change(namespace, key, "set", value, given, owner)
    return json_response({"old_value": old, "value": new})


@route("/update", methods=["POST"])
def update(namespace: str, key: str, given: str | None, owner: bool) -> Response:
    """Add a non-zero amount, which may be negative (admin)."""
    amount = params.integer(request.args.get("amount"), "amount", nonzero=True)
    _, new = _change(namespace, key, "add", amount, given, owner)
    return json_response({"value": new})


@route("/reset", methods=["POST"])
def reset(namespace: str, key: str, given: str | None, owner: bool) -> Response:
    """Set a counter back to 0, keeping its history (admin)."""
    old, new = _change(namespace, key, "set", 0, given, owner)
    return json_response({"old_value": old, "value": new})


@route("/delete", methods=["POST"])
def delete(namespace: str, key: str, given: str | None, owner: bool) -> Response:
    """Delete a counter with its history (admin)."""
    old, _ = _change(namespace, key, "delete", 0, given, owner)
    return json_response({"deleted": True, "old_value": old})


@route("/history")
def history(namespace: str, key: str) -> Response:
    """Return hits and unique visitors per day, in `?tz=` (UTC by default)."""
    runtime, namespace, key = checked(namespace, key)
    days = params.integer(request.args.get("days", str(DEFAULT_HISTORY_DAYS)), "days")
    limit = min(current_app.config["HISTORY_DAYS"], MAX_HISTORY_DAYS)
    if not 1 <= days <= limit:
        params.bad_request(f"days must be from 1 to {limit}")
    tz_name = request.args.get("tz", "UTC")
    try:
        tz = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        params.bad_request(f"tz must be an IANA time zone such as Europe/Paris, got {tz_name!r}")
    entries = counter_figures.history(
        runtime.redis, runtime.policy, namespace, key, days, tz, runtime.now
    )
    return json_response({"namespace": namespace, "key": key, "tz": tz_name, "days": entries})


@bp.get("/stats")
def server_totals() -> Response:
    """Return server-wide figures."""
    return json_response(counter_figures.server_totals(current_runtime().redis))
