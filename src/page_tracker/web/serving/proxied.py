"""The client's address behind reverse proxies, taken only when it is an IP address."""

import socket
from collections.abc import Callable, Iterable
from typing import Any

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class Proxied:
    """WSGI middleware: the address and scheme `count` proxies forwarded, if they are sound.

    Each proxy appends the address it was called from to X-Forwarded-For, so the `count`-th
    value from the right is the last one a trusted proxy wrote; the ones before it are the
    client's word.  A value that is no IP address (a 5 KB string, say) would become a
    rate-limit key: the peer's address is kept instead.  The app must be reachable only
    through the proxies, or clients choose their own address.  (werkzeug's ProxyFix does the
    same with more headers, at several times the cost on every hit.)
    """

    def __init__(self, app: WSGIApp, count: int) -> None:
        self._app = app
        self._count = count

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        """Answer with the forwarded address and scheme in the environ."""
        self.fix(environ)
        return self._app(environ, start_response)

    def fix(self, environ: dict[str, Any]) -> None:
        """Put the forwarded address and scheme in the environ (the event loop's way in)."""
        address = self._trusted(environ.get("HTTP_X_FORWARDED_FOR"))
        if address is not None and _is_ip(address):
            environ["REMOTE_ADDR"] = address
        scheme = self._trusted(environ.get("HTTP_X_FORWARDED_PROTO"))
        if scheme in ("http", "https"):
            environ["wsgi.url_scheme"] = scheme

    def _trusted(self, header: str | None) -> str | None:
        """Return the value the outermost trusted proxy wrote in `header`, if there is one."""
        if not header:
            return None
        values = header.split(",")
        return values[-self._count].strip() if len(values) >= self._count else None


def _is_ip(text: str) -> bool:
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(family, text)
        except OSError:
            continue
        return True
    return False
