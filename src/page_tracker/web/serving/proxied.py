"""The client's address behind reverse proxies, taken only when it is an IP address."""

import ipaddress
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.middleware.proxy_fix import ProxyFix

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class Proxied:
    """WSGI middleware: the address and scheme `count` proxies forwarded, if they are sound.

    X-Forwarded-For is whatever the client and the proxies wrote.  A value that is no IP
    address (a 5 KB string, say) would become a rate-limit key: the peer's address is kept
    instead.  The app must be reachable only through the proxies, or clients choose their own.
    """

    def __init__(self, app: WSGIApp, count: int) -> None:
        self._app = app
        self._fix = ProxyFix(_keep_sound_address, x_for=count, x_proto=count)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        """Answer with the forwarded address and scheme in the environ."""
        self.fix(environ)
        return self._app(environ, start_response)

    def fix(self, environ: dict[str, Any]) -> None:
        """Put the forwarded address and scheme in the environ (the event loop's way in)."""
        self._fix(environ, _unused)


def _keep_sound_address(environ: dict[str, Any], _: Callable[..., Any]) -> list[bytes]:
    try:
        ipaddress.ip_address(environ.get("REMOTE_ADDR", ""))
    except ValueError:
        environ["REMOTE_ADDR"] = environ["werkzeug.proxy_fix.orig"]["REMOTE_ADDR"]
    return []


def _unused(status: str, headers: list[tuple[str, str]], *_: Any) -> Callable[[bytes], object]:
    raise AssertionError("nothing is answered while the environ is fixed")
