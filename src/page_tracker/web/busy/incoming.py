"""What a busy endpoint reads of its request, straight from the WSGI environ.

werkzeug's Request parses headers, arguments and the body into objects of their own, which costs
more than a hit's own work; a hit reads two headers and, at most, a few arguments.
"""

from typing import Any
from urllib.parse import parse_qsl

from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wsgi import get_input_stream


class Incoming:
    """A request as the busy endpoints read it."""

    __slots__ = ("_args", "environ")

    def __init__(self, environ: dict[str, Any]) -> None:
        self.environ = environ
        self._args: dict[str, str] | None = None

    @property
    def query_string(self) -> str:
        """Return the query string as sent, without the '?'."""
        return str(self.environ.get("QUERY_STRING", ""))

    @property
    def args(self) -> dict[str, str]:
        """Return the query's arguments, each name's first value (as werkzeug's args.get)."""
        if self._args is None:
            # WSGI holds the query's bytes as latin-1 text; its escapes are UTF-8.
            raw = self.query_string.encode("latin-1").decode("utf-8", "replace")
            args: dict[str, str] = {}
            for name, value in parse_qsl(raw, keep_blank_values=True, errors="replace"):
                args.setdefault(name, value)
            self._args = args
        return self._args

    @property
    def remote_addr(self) -> str:
        """Return the client's address (the proxies' word for it, when they are trusted)."""
        return str(self.environ.get("REMOTE_ADDR", ""))

    def header(self, name: str) -> str | None:
        """Return the header `name` (in WSGI's form: USER_AGENT), if it was sent."""
        value = self.environ.get(f"HTTP_{name}")
        return None if value is None else str(value)

    def body(self, limit: int) -> bytes:
        """Return the body; raise RequestEntityTooLarge if it is over `limit` bytes."""
        length = self.environ.get("CONTENT_LENGTH")
        if length and length.isdigit():
            if int(length) > limit:
                raise RequestEntityTooLarge()
            # A body of known length is read in one call: werkzeug's stream wrapper costs more
            # than parsing a beacon.
            data: bytes = self.environ["wsgi.input"].read(int(length))
            return data
        # No length (chunked): werkzeug's stream stops at the limit and raises past it.
        return get_input_stream(self.environ, max_content_length=limit).read()
