"""The client's address and scheme as trusted proxies forwarded them, and only if sound."""

from typing import Any

import pytest

from page_tracker.web.serving.proxied import Proxied

PEER = "10.0.0.2"


def fixed(count: int, **headers: str) -> dict[str, Any]:
    environ: dict[str, Any] = {"REMOTE_ADDR": PEER, "wsgi.url_scheme": "http"}
    environ.update({f"HTTP_{name.upper()}": value for name, value in headers.items()})
    Proxied(lambda *_: [], count).fix(environ)
    return environ


@pytest.mark.parametrize(
    ("count", "forwarded", "address"),
    [
        (1, "203.0.113.9", "203.0.113.9"),
        (1, "198.51.100.1, 203.0.113.9", "203.0.113.9"),  # the client's own word is not taken
        (2, "198.51.100.1, 203.0.113.9", "198.51.100.1"),
        (2, "203.0.113.9", PEER),  # fewer values than proxies: nothing a proxy wrote
        (1, "2001:db8::1", "2001:db8::1"),
        (1, "not an address", PEER),
        (1, "x" * 5000, PEER),
        (1, "", PEER),
    ],
)
def test_the_address_the_outermost_trusted_proxy_wrote_is_taken_if_it_is_an_ip(
    count: int, forwarded: str, address: str
) -> None:
    assert fixed(count, x_forwarded_for=forwarded)["REMOTE_ADDR"] == address


def test_the_scheme_is_taken_only_if_it_is_http_or_https() -> None:
    assert fixed(1, x_forwarded_proto="https")["wsgi.url_scheme"] == "https"
    assert fixed(1, x_forwarded_proto="gopher")["wsgi.url_scheme"] == "http"
    assert fixed(1)["wsgi.url_scheme"] == "http"
