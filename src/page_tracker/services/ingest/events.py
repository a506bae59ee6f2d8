"""Page views as sent: parsed, checked against their site, and placed in time."""

import ipaddress
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qs, urlsplit

from page_tracker.services.ingest.agents import MAX_USER_AGENT
from page_tracker.services.sites import Site, local_day

MAX_URL = 2048
MAX_WIDTH = 100_000
MAX_SOURCE = 100
# A page is kept by its path, cut to this length: each distinct path costs memory for the
# whole retention.
MAX_PAGE = 256
# scheme://, a host name of at most 253 characters, :port.
MAX_ORIGIN = 270
# A logged page view may be sent late, but not from the future beyond clock skew.
MAX_SKEW_S = 300


class EventError(ValueError):
    """A page view that is malformed: it cannot be counted as sent."""


class RefusedEventError(EventError):
    """A well-formed page view that its sender may not report: another site's, say."""


@dataclass(frozen=True)
class PageView:
    """A page view as reported, checked but not yet tied to a site."""

    site: str
    host: str | None
    page: str
    referrer: str | None
    source: str | None
    dnt: bool = False
    ip: str | None = None
    user_agent: str | None = None
    timestamp: float | None = None


def _text(event: Mapping[str, Any], name: str, limit: int) -> str | None:
    value = event.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise EventError(f"{name} must be a string of at most {limit} characters")
    return value


def parse_event(event: Any, *, server_side: bool = False) -> PageView:
    """Return a checked page view, or raise EventError saying what is wrong.

    `server_side` events (batches) may name a page by path and carry the visitor's ip,
    user_agent and the timestamp of the view.
    """
    if not isinstance(event, dict):
        raise EventError("an event must be a JSON object")
    site = event.get("site")
    if not isinstance(site, str) or not site:
        raise EventError("site is required: the name the site was registered with")
    url = _text(event, "url", MAX_URL)
    if url is None:
        raise EventError("url is required: the page's address")
    parts = urlsplit(url)
    host = parts.hostname  # read once: the property parses the address again at every read
    if not (parts.scheme in ("http", "https") and host):
        if not (server_side and url.startswith("/") and not url.startswith("//")):
            allowed = "an absolute http(s) URL" + (
                " or a path starting with /" if server_side else ""
            )
            raise EventError(f"url must be {allowed}, got {url[:100]!r}")
        host = None
    width = event.get("width")
    if width is not None and (
        isinstance(width, bool) or not isinstance(width, int) or not 0 <= width <= MAX_WIDTH
    ):
        raise EventError(f"width must be an integer from 0 to {MAX_WIDTH}")
    dnt = event.get("dnt", False)
    if not isinstance(dnt, bool):
        raise EventError("dnt must be true or false")
    referrer = _text(event, "referrer", MAX_URL)
    source = parse_qs(parts.query).get("utm_source", [None])[0] if parts.query else None
    return PageView(
        site,
        host,
        (parts.path or "/")[:MAX_PAGE],
        referrer_host(referrer) if referrer else None,
        source.strip().lower()[:MAX_SOURCE] or None if source else None,
        dnt,
        *(_sent_by_server(event) if server_side else ()),
    )


# A host name as DNS has them: dot-separated labels of letters (any script), digits, - and _.
_LABEL = re.compile(r"(?!-)[\w-]{1,63}(?<!-)")
INVALID_HOST = "(invalid)"


def referrer_host(referrer: str) -> str | None:
    """Return the host of a referrer URL, INVALID_HOST if it is no host name, None if none."""
    try:
        host = urlsplit(referrer).hostname
    except ValueError:  # an unclosed [ of an IPv6 address, say
        return INVALID_HOST
    if not host:
        return None
    if host[-1].isdigit() or ":" in host:  # an IP address, perhaps: asked only then (it costs)
        try:
            return str(ipaddress.ip_address(host))
        except ValueError:
            return INVALID_HOST
    labels = host.removesuffix(".").split(".")
    if len(host) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        return INVALID_HOST
    return host


def _sent_by_server(event: Mapping[str, Any]) -> tuple[str | None, str | None, float | None]:
    """Return the ip, user_agent and timestamp a server may send with a view, checked."""
    ip = _text(event, "ip", 64)
    if ip is not None:
        try:
            ipaddress.ip_address(ip)
        except ValueError:
            raise EventError(f"ip must be an IPv4 or IPv6 address, got {ip!r}") from None
    timestamp = event.get("timestamp")
    if timestamp is not None and (
        isinstance(timestamp, bool) or not isinstance(timestamp, int | float)
    ):
        raise EventError("timestamp must be a number: seconds since 1970 (UTC)")
    return ip, _text(event, "user_agent", MAX_USER_AGENT), timestamp


@lru_cache(maxsize=4096)
def _hostname(origin: str) -> str | None:
    # Every beacon from a site sends the same few origins.
    return urlsplit(origin).hostname


def check_origin(site: Site, view: PageView, origin: str | None) -> None:
    """Raise RefusedEventError unless the page and the sending origin are the site's domains."""
    if view.host is not None and not site.allows(view.host):
        raise RefusedEventError(f"{view.host} is not a domain of site {site.name}")
    if origin:
        # Checked before the cache: 400 hostile 60 KB origins would otherwise sit in it.
        if len(origin) > MAX_ORIGIN:
            raise EventError(f"an Origin header is at most {MAX_ORIGIN} characters")
        host = _hostname(origin)
        if host is None or not site.allows(host):
            raise RefusedEventError(f"origin {origin[:100]!r} may not report to site {site.name}")


def check_time(site: Site, timestamp: float | None, now: datetime) -> datetime:
    """Return when a view happened: now, or its timestamp if within the site's retention."""
    if timestamp is None:
        return now
    # Compared as numbers first: a datetime cannot hold 1e20 seconds, nor NaN.
    if not math.isfinite(timestamp) or timestamp > now.timestamp() + MAX_SKEW_S:
        raise EventError("timestamp is in the future")
    if timestamp < 0:
        raise EventError("timestamp must be seconds since 1970 (UTC), not before")
    when = datetime.fromtimestamp(timestamp, UTC)
    if local_day(site, when) < local_day(site, now) - timedelta(days=site.retention_days):
        raise EventError(f"timestamp is older than the site's {site.retention_days} days")
    return when
