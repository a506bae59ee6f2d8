"""JSON request bodies, parsed strictly: plain numbers, bounded nesting, valid Unicode text."""

import json
from typing import Any, NoReturn

from flask.json.provider import DefaultJSONProvider


class BodyError(ValueError):
    """A body that is not plain JSON; the message says what is wrong with it."""


def _no_constant(name: str) -> NoReturn:
    raise BodyError(f"the body must be plain JSON: {name} is not a number")


# Made once: json.loads with any option builds a new decoder at every call.
_DECODER = json.JSONDecoder(parse_constant=_no_constant)


def loads(body: str | bytes) -> Any:
    """Return the JSON value of `body`, or raise BodyError saying what is wrong with it."""
    try:
        # Strict UTF-8: json.loads would let encoded surrogates through ('surrogatepass').
        text = body.decode() if isinstance(body, bytes) else body
    except UnicodeDecodeError:
        raise BodyError("the body must be JSON in UTF-8") from None
    try:
        value = _DECODER.decode(text)
    except RecursionError:  # the parser stops at Python's recursion limit (about 1,000)
        raise BodyError("the body's JSON is nested too deeply") from None
    except BodyError:
        raise
    except ValueError as error:
        raise BodyError(f"the body must be JSON: {error}") from None
    # Now a lone surrogate can only come from a \u escape.  Such text would be taken now and
    # fail wherever it is stored or sent on.
    if "\\u" in text:
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
