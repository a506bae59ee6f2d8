"""JSON request bodies, parsed strictly: plain numbers, bounded nesting, valid Unicode text."""

import json
import re
from typing import Any, NoReturn

from flask.json.provider import DefaultJSONProvider


class BodyError(ValueError):
    """A body that is not plain JSON; the message says what is wrong with it."""


def _no_constant(name: str) -> NoReturn:
    raise BodyError(f"the body must be plain JSON: {name} is not a number")


# Deeper JSON is refused before it is parsed, so the parser never recurses deeply: no body of
# this app nests past a few levels, and at about 1,000 the parser would hit Python's recursion
# limit in the middle of a request.
MAX_DEPTH = 32
# A JSON string, written as the "unrolled loop" that the regex engine runs fastest.
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKETS = bytes(set(range(256)) - set(b"[]{}"))


def _depth(body: bytes) -> int:
    depth = deepest = 0
    for byte in _STRING.sub(b"", body).translate(None, _NOT_BRACKETS):
        depth += 1 if byte in b"[{" else -1
        deepest = max(deepest, depth)
    return deepest


def loads(body: str | bytes) -> Any:
    """Return the JSON value of `body`, or raise BodyError saying what is wrong with it."""
    raw = body.encode(errors="surrogatepass") if isinstance(body, str) else body
    # Counting brackets is cheap, and no deeper than their number: most bodies stop there.
    if raw.count(b"[") + raw.count(b"{") > MAX_DEPTH and _depth(raw) > MAX_DEPTH:
        raise BodyError(f"the body's JSON is nested deeper than {MAX_DEPTH} levels")
    try:
        value = json.loads(body, parse_constant=_no_constant)
    except BodyError:
        raise
    except ValueError as error:
        raise BodyError(f"the body must be JSON: {error}") from None
    # A lone surrogate can only come from a \u escape: other text is valid as soon as it
    # decodes.  Such text would be taken now and fail wherever it is stored or sent on.
    escaped = b"\\u" in body if isinstance(body, bytes) else "\\u" in body
    if escaped:
        try:
            json.dumps(value, ensure_ascii=False).encode()
        except UnicodeEncodeError:
            raise BodyError(
                "the body's text must be valid Unicode: a lone surrogate (\\ud800-\\udfff) is not"
            ) from None
    return value


class StrictJSONProvider(DefaultJSONProvider):
    """Flask's JSON, reading request bodies with `loads`."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        """Return the JSON value of `s`; raise BodyError (a ValueError) if it is not plain."""
        return loads(s)
