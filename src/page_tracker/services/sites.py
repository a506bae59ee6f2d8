"""Sites that report page views, and the API tokens that may read or feed them."""

import functools
import hashlib
import hmac
import ipaddress
import json
import re
import secrets
import threading
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from cachetools import TTLCache
from redis import Redis

from page_tracker.services.counters import NAME
from page_tracker.store import calls
from page_tracker.store import sites as store
from page_tracker.store.calls import Blocking, Call, Calls, finish
from page_tracker.store.keys import SiteField, TokenField

SCOPES = ("admin", "read", "ingest")
DOMAIN_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
MAX_RETENTION_DAYS = 3660
# A site's settings are read on every page view; a worker keeps them this long.
SETTINGS_CACHE_S = 10


class SiteError(ValueError):
    """A site or token request that cannot be carried out; the message says why.

    `field` names the setting at fault, when one is ("" otherwise).
    """

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


class UnknownSiteError(SiteError):
    """There is no site of that name."""


class SiteExistsError(SiteError):
    """A site of that name is already registered."""


@dataclass(frozen=True)
class Site:
    """A site: the domains allowed to report to it, its time zone and its retention."""

    name: str
    domains: tuple[str, ...]
    tz: str
    retention_days: int
    honor_dnt: bool
    created: int

    @property
    def zone(self) -> ZoneInfo:
        """Return the site's time zone."""
        return ZoneInfo(self.tz)

    def allows(self, host: str) -> bool:
        """Say whether `host` is one of the site's domains or a subdomain of one."""
        host = host.lower().rstrip(".")
        return any(host == domain or host.endswith("." + domain) for domain in self.domains)

    def public(self) -> dict[str, object]:
        """Return the settings as shown to API clients."""
        return {
            "name": self.name,
            "domains": list(self.domains),
            "tz": self.tz,
            "retention_days": self.retention_days,
            "honor_dnt": self.honor_dnt,
            "created": datetime.fromtimestamp(self.created).astimezone(self.zone).isoformat(),
        }


def local_day(site: Site, when: datetime) -> date:
    """Return the site's date at `when`."""
    return when.astimezone(site.zone).date()


def domain(value: str) -> str:
    """Return a host name in lower case, or raise SiteError.

    A top-level domain alone ("com") would admit every site under it; localhost is the one
    single-label name allowed, for trying page-tracker out, and IP addresses are taken too.
    """
    host = value.strip().lower().rstrip(".")
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    labels = host.split(".")
    if (
        not host
        or len(host) > 253
        or (len(labels) < 2 and host != "localhost")
        or not all(DOMAIN_LABEL.fullmatch(label) for label in labels)
        or labels[-1].isdigit()
    ):
        raise SiteError(f"domain must be a host name such as example.com, got {value!r}", "domains")
    return host


# Names in the time zone database that are not places: "localtime" is whatever the server's
# clock is set to, and "Factory" and "posixrules" are files, not zones.
NOT_ZONES = {"localtime", "Factory", "posixrules"}


@functools.cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones() - NOT_ZONES)


def make_site(
    name: Any,
    domains: Any,
    tz: Any = "UTC",
    retention_days: Any = 365,
    honor_dnt: Any = True,
    created: int = 0,
) -> Site:
    """Return a validated site, or raise SiteError saying what is wrong."""
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise SiteError("name must be 3 to 64 characters of A-Z, a-z, 0-9, '_', '.' or '-'", "name")
    if not isinstance(domains, list) or not domains or len(domains) > 100:
        raise SiteError("domains must be a list of 1 to 100 host names", "domains")
    if not all(isinstance(d, str) for d in domains):
        raise SiteError("domains must be host names", "domains")
    if not isinstance(tz, str) or tz not in _zones():
        raise SiteError(f"tz must be an IANA time zone such as Europe/Paris, got {tz!r}", "tz")
    if isinstance(retention_days, bool) or not isinstance(retention_days, int):
        raise SiteError("retention_days must be an integer", "retention_days")
    if not 1 <= retention_days <= MAX_RETENTION_DAYS:
        raise SiteError(f"retention_days must be from 1 to {MAX_RETENTION_DAYS}", "retention_days")
    if not isinstance(honor_dnt, bool):
        raise SiteError("honor_dnt must be true or false", "honor_dnt")
    unique = tuple(dict.fromkeys(domain(d) for d in domains))
    return Site(name, unique, tz, retention_days, honor_dnt, created)


def _settings(site: Site) -> dict[str, str]:
    return {
        SiteField.DOMAINS: json.dumps(list(site.domains)),
        SiteField.TZ: site.tz,
        SiteField.RETENTION_DAYS: str(site.retention_days),
        SiteField.HONOR_DNT: "1" if site.honor_dnt else "0",
        SiteField.CREATED: str(site.created),
    }


def add(redis: Redis, site: Site) -> None:
    """Register `site`; raise SiteError if the name is taken."""
    if not store.add_site(redis, site.name, _settings(site)):
        raise SiteExistsError(f"site {site.name} already exists", "name")


def update(redis: Redis, site: Site) -> None:
    """Change a registered site's settings to `site`'s; raise UnknownSiteError if it has gone.

    Figures already counted stay as they were: days in the old time zone, lifetimes of the old
    retention.  Every worker uses the new settings within SETTINGS_CACHE_S.
    """
    if not store.update_site(redis, site.name, _settings(site)):
        raise UnknownSiteError(f"no site {site.name}")


def remove(redis: Redis, name: str) -> int:
    """Delete a site with its figures, inbox and tokens; return how many keys went."""
    for token in tokens(redis):
        if token["site"] == name:
            store.remove_token(redis, token["id"])
    return store.remove_site(redis, name)


def lookup(name: str) -> Call[Site | None]:
    """Return the Call that reads the site called `name` (None if there is none)."""
    return calls.then(store.site_settings(name), functools.partial(_site, name))


def _site(name: str, settings: dict[SiteField, str]) -> Site | None:
    if SiteField.DOMAINS not in settings:
        return None
    return Site(
        name,
        tuple(json.loads(settings[SiteField.DOMAINS])),
        settings[SiteField.TZ],
        int(settings[SiteField.RETENTION_DAYS]),
        settings[SiteField.HONOR_DNT] == "1",
        int(settings[SiteField.CREATED]),
    )


def load(redis: Redis, name: str) -> Site:
    """Return the site called `name`, or raise UnknownSiteError."""
    site = calls.run(redis, lookup(name))
    if site is None:
        raise UnknownSiteError(f"no site {name}")
    return site


def names(redis: Redis) -> list[str]:
    """Return every site's name, sorted."""
    return store.site_names(redis)


class SiteBook:
    """Sites as one worker sees them: read from Redis, kept for SETTINGS_CACHE_S seconds.

    A name that is no site's is kept as unknown as long: views of made-up sites cost one
    lookup a name, not one a view.  A new site is so seen within SETTINGS_CACHE_S too.
    """

    def __init__(self) -> None:
        self._cache: TTLCache[str, Site | None] = TTLCache(maxsize=4096, ttl=SETTINGS_CACHE_S)
        self._lock = threading.Lock()

    def get(self, redis: Redis, name: str) -> Site:
        """Return the site called `name`, or raise UnknownSiteError (with the blocking client)."""
        return finish(self.find(Blocking(redis), name))

    async def find(self, client: Calls, name: str) -> Site:
        """Return the site called `name`, or raise UnknownSiteError; `client` looks it up."""
        with self._lock:
            seen, site = name in self._cache, self._cache.get(name)
        if not seen:
            site = await client.run(lookup(name))
            with self._lock:
                self._cache[name] = site
        if site is None:
            raise UnknownSiteError(f"no site {name}")
        return site


@dataclass(frozen=True)
class Grant:
    """What a token allows: every site (admin), or reading or feeding one site."""

    scope: str
    site: str = ""
    token_id: str = ""

    def can_read(self, site: str) -> bool:
        """Say whether the holder may read `site`'s figures."""
        return self.scope == "admin" or (self.scope == "read" and self.site == site)

    def can_ingest(self, site: str) -> bool:
        """Say whether the holder may send page views of `site` in batches."""
        return self.scope == "admin" or (self.scope == "ingest" and self.site == site)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def mint_token(redis: Redis, scope: str, site: str, created: int) -> tuple[str, str]:
    """Create a token; return its public id and the token itself (shown only this once)."""
    if scope not in SCOPES:
        raise SiteError(f"scope must be one of {', '.join(SCOPES)}", "scope")
    if scope == "admin" and site:
        raise SiteError("an admin token is for every site: give no site", "site")
    if scope != "admin":
        load(redis, site)
    token_id = secrets.token_hex(6)
    token = f"pt_{token_id}_{secrets.token_urlsafe(24)}"
    fields: dict[str, str] = {
        TokenField.SHA256: _digest(token),
        TokenField.SCOPE: scope,
        TokenField.SITE: site,
        TokenField.CREATED: str(created),
    }
    store.add_token(redis, token_id, fields)
    return token_id, token


def authorize(redis: Redis, token: str) -> Grant | None:
    """Return what `token` allows, or None if it is not a live token."""
    prefix, _, rest = token.partition("_")
    token_id, _, _ = rest.partition("_")
    if prefix != "pt" or not token_id.isalnum() or len(token_id) > 32:
        return None
    fields = store.token_fields(redis, token_id)
    if not fields or not hmac.compare_digest(fields[TokenField.SHA256], _digest(token)):
        return None
    return Grant(fields[TokenField.SCOPE], fields[TokenField.SITE], token_id)


def is_live(redis: Redis, token_id: str) -> bool:
    """Say whether the token `token_id` still exists (it has not been revoked)."""
    return bool(store.token_fields(redis, token_id))


def session_secret(redis: Redis) -> str:
    """Return the key that signs dashboard sessions, made once and shared by every worker."""
    return store.shared_secret(redis, secrets.token_hex(32))


def revoke_token(redis: Redis, token_id: str) -> bool:
    """Delete a token so it no longer works; return False if there was none."""
    return store.remove_token(redis, token_id)


def has_admin_token(redis: Redis) -> bool:
    """Say whether any admin token has been created (the server's own is not counted)."""
    return any(token["scope"] == "admin" for token in tokens(redis))


def tokens(redis: Redis) -> list[dict[str, str]]:
    """Return every token's id, scope, site and creation time (never the token)."""
    found = []
    for token_id in store.token_ids(redis):
        fields = store.token_fields(redis, token_id)
        if fields:
            found.append(
                {
                    "id": token_id,
                    "scope": fields[TokenField.SCOPE],
                    "site": fields[TokenField.SITE],
                    "created": fields[TokenField.CREATED],
                }
            )
    return sorted(found, key=lambda token: token["created"])
