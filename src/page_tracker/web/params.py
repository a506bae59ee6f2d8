"""What a request names or sends, checked: counter names, integers, JSONP callbacks."""

import re
from collections.abc import Mapping
from typing import NoReturn

from flask import Response, abort

from page_tracker.services.counters import INT64_MAX, INT64_MIN, NAME, parse_integer
from page_tracker.web.answers import json_error

CALLBACK = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]{0,63}")
DEFAULT_NAMESPACE = "default"


def bad_request(message: str) -> NoReturn:
    """Stop the request with a 400 whose JSON body says `message`."""
    abort(json_error(400, message))


def name(value: str, what: str) -> str:
    """Return `value` if it is a valid namespace or key name, else stop with a 400."""
    if not NAME.fullmatch(value):
        bad_request(f"{what} must be 3 to 64 characters of A-Z, a-z, 0-9, '_', '.' or '-'")
    return value


def integer(raw: str | None, what: str, *, required: bool = True, nonzero: bool = False) -> int:
    """Return `raw` as a signed 64-bit integer, else stop with a 400 that says why."""
    if raw is None or raw == "":
        if required:
            bad_request(f"{what} is required: a signed 64-bit integer")
        return 0
    number = parse_integer(raw)
    if number is None or not INT64_MIN <= number <= INT64_MAX:
        bad_request(f"{what} must be an integer from {INT64_MIN} to {INT64_MAX}, got {raw!r}")
    if nonzero and number == 0:
        bad_request(f"{what} must not be 0")
    return number


def jsonp_callback(args: Mapping[str, str]) -> str | None:
    """Return the JSONP callback `args` ask for, if any; stop with a 400 if it is no identifier."""
    value = args.get("callback")
    if value is not None and not CALLBACK.fullmatch(value):
        bad_request("callback must be a plain JavaScript identifier: [A-Za-z_$][A-Za-z0-9_$]*")
    return value


JAVASCRIPT = "application/javascript; charset=utf-8"


def wrapped(json_text: str, callback: str) -> str:
    """Return JSON text as a call of the JSONP `callback` (the comment guards against tricks)."""
    return f"/**/{callback}({json_text.strip()});"


def jsonp(response: Response, args: Mapping[str, str]) -> None:
    """Wrap a JSON answer in the JSONP callback `args` ask for, if any."""
    value = args.get("callback")
    if value and response.is_json and CALLBACK.fullmatch(value):
        response.set_data(wrapped(response.get_data(as_text=True), value))
        response.content_type = JAVASCRIPT
