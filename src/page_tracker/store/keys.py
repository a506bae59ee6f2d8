"""The key schema: every Redis key page-tracker uses, and every field of its hashes, with lifetimes.

Nothing else builds key text or names a hash field: the Lua scripts name fields as `$Class_NAME`
placeholders (`$CounterField_VALUE`), filled in from here when they are loaded (LUA_FIELDS).
"""

from datetime import date
from enum import StrEnum

# The seed app's key, kept as it is so a running seed deployment keeps its count when it
# switches to page-tracker.  It has no TTL: it is one key, and a total must never expire.
PAGE_VIEWS = "page_views"

# Every key of a namespace carries the hash tag {namespace}, so in a Redis Cluster they all
# live in one slot and one script may touch them together.  Names cannot contain the braces or
# colons these keys use as separators (see services/counters.NAME), so no two keys can collide.
#
# Lifetimes (set by the scripts that write them):
# - counter, all-time uniques, namespace totals: the retention, renewed by every write, so an
#   idle counter expires with everything it owns;
# - per-day hits and uniques: the history length, counted from that day's last write.
COUNTER_PATTERN = "pt:{*}:c:*"
# The server-wide figures of GET /stats, worked out at most once a minute (TTL 60 s).
SERVER_TOTALS = "pt:stats"


def counter(namespace: str, key: str) -> str:
    """Return the hash of a counter (CounterField)."""
    return f"pt:{{{namespace}}}:c:{key}"


class CounterField(StrEnum):
    """The fields of a counter's hash."""

    VALUE = "value"  # the count, a signed 64-bit integer
    CREATED = "created"  # unix seconds
    UPDATED = "updated"  # unix seconds of the last hit or change
    ADMIN = "admin"  # SHA-256 of its admin key, "" when it has none


def hours(namespace: str, key: str, day: date) -> str:
    """Return the hash of a counter's hits on a UTC day, one field per hour ("0" to "23")."""
    return f"pt:{{{namespace}}}:h:{key}:{day.isoformat()}"


def day_uniques(namespace: str, key: str, day: date) -> str:
    """Return the HyperLogLog of a counter's visitors on a UTC day."""
    return f"pt:{{{namespace}}}:u:{key}:{day.isoformat()}"


def all_uniques(namespace: str, key: str) -> str:
    """Return the HyperLogLog of a counter's visitors since it was created."""
    return f"pt:{{{namespace}}}:u:{key}:all"


def namespace_totals(namespace: str) -> str:
    """Return the hash of a namespace's totals (TotalsField)."""
    return f"pt:{{{namespace}}}:totals"


class TotalsField(StrEnum):
    """The fields of a namespace's totals."""

    HITS = "hits"


def budget(scope: str, client: str, namespace: str | None) -> str:
    """Return the key of a client's budget: in the namespace's slot, or global without one.

    It holds when the budget is full again, and expires then (see spend.lua).  `client` is
    a keyed hash of the address, never the address.
    """
    if namespace is None:
        return f"pt:budget:{scope}:{client}"
    return f"pt:{{{namespace}}}:budget:{scope}:{client}"


def visitor_secret(day: date) -> str:
    """Return the key of the random secret that keys visitor ids on a date (TTL 3 days)."""
    return f"pt:secret:{day.isoformat()}"


# Website analytics.  A site is a namespace, so its keys carry the {site} tag too.  Day keys
# name the site's local date (days are fixed at ingest) and expire when that day is older than
# the site's retention; the script that writes them sets that time.
SITES = "pt:sites"  # the registry of site names: no TTL, a site lives until it is removed
TOKEN_PATTERN = "pt:token:*"  # noqa: S105  # nosec B105: a key pattern, not a password
# Signs dashboard sessions; no TTL: rotating it would log every user out.
SESSION_SECRET = "pt:session-secret"  # noqa: S105  # nosec B105: a key name, not a secret


def site(name: str) -> str:
    """Return the hash of a site's settings, SiteField (no TTL: it lives until it is removed)."""
    return f"pt:{{{name}}}:site"


class SiteField(StrEnum):
    """The fields of a site's settings."""

    DOMAINS = "domains"  # a JSON list of host names
    TZ = "tz"  # an IANA time zone
    RETENTION_DAYS = "retention_days"
    HONOR_DNT = "honor_dnt"  # "1" or "0"
    CREATED = "created"  # unix seconds


def site_data_patterns(site: str) -> tuple[str, str]:
    """Return the match patterns of every key of a site's figures and inbox (not its settings).

    Site names hold no glob characters (services/sites.NAME), and the counters of a namespace
    of the same name use other suffixes, so these match the site's keys and nothing else.
    """
    return f"pt:{{{site}}}:a:*", f"pt:{{{site}}}:inbox*"


def token(token_id: str) -> str:
    """Return the hash of an API token, TokenField (no TTL: it lives until it is revoked)."""
    return f"pt:token:{token_id}"


def token_id(name: str) -> str:
    """Return the id of the token whose hash is called `name` (a TOKEN_PATTERN match)."""
    return name.removeprefix(token(""))


class TokenField(StrEnum):
    """The fields of an API token."""

    SHA256 = "sha256"  # of the token, which is never stored
    SCOPE = "scope"  # admin, read or ingest
    SITE = "site"  # "" for an admin token
    CREATED = "created"  # unix seconds


def _day(site: str, day: date) -> str:
    return f"pt:{{{site}}}:a:{day.isoformat()}"


def day_counts(site: str, day: date) -> str:
    """Return the hash of a site's day: DayField, views per hour (hour_field), per AgentField."""
    return f"{_day(site, day)}:n"


class DayField(StrEnum):
    """The fields of a site's day that count every view."""

    VIEWS = "views"
    BOTS = "bots"  # views by bots, which count nowhere else


def hour_field(hour: int) -> str:
    """Return the field of a day's hash that counts the views of one hour (0-23)."""
    return f"h{hour:02d}"


class AgentField(StrEnum):
    """The prefixes of a day's fields that count views by browser, OS and device class."""

    BROWSER = "b:"
    OS = "o:"
    DEVICE = "d:"


RANKINGS = {"pages": "p", "referrers": "r", "sources": "s"}


def day_ranking(site: str, day: date, kind: str) -> str:
    """Return the sorted set of a site's pages, referrers or utm_sources by views on a day."""
    return f"{_day(site, day)}:{RANKINGS[kind]}"


def month_ranking(site: str, day: date, kind: str) -> str:
    """Return the same sorted set for the whole month of `day`.

    A range of months sums a dozen of these, not hundreds of days.
    """
    return f"pt:{{{site}}}:a:{day:%Y-%m}:{RANKINGS[kind]}"


def day_visitors(site: str, day: date) -> str:
    """Return the HyperLogLog of a site's visitors on a day."""
    return f"{_day(site, day)}:v"


def hour_visitors(site: str, day: date, hour: int) -> str:
    """Return the HyperLogLog of a site's visitors in one hour of a day."""
    return f"{_day(site, day)}:v:{hour:02d}"


def page_visitors(site: str, day: date, page: str) -> str:
    """Return the HyperLogLog of one page's visitors on a day."""
    return f"{_day(site, day)}:pv:{page}"


def minute_visitors(site: str, minute: int) -> str:
    """Return the HyperLogLog of a site's visitors in one minute (unix time // 60)."""
    return f"pt:{{{site}}}:a:now:{minute}"


def live_channel(site: str) -> str:
    """Return the pub/sub channel where a site's views are announced (not a key)."""
    return f"pt:live:{site}"


def inbox(site: str) -> str:
    """Return the list of a site's page views waiting to be counted (no TTL: drained soon)."""
    return f"pt:{{{site}}}:inbox"


def idempotency(request_hash: str) -> str:
    """Return the key of a batch sent with an Idempotency-Key: its answer, kept for a day."""
    return f"pt:idempotency:{request_hash}"


def session(session_hash: str) -> str:
    """Return the key of a dashboard sign-in (TTL: its idle timeout, renewed by each page)."""
    return f"pt:session:{session_hash}"


def sign_in_link(link_hash: str) -> str:
    """Return the key of a one-time sign-in link (TTL: the link's lifetime; used, deleted)."""
    return f"pt:sign-in-link:{link_hash}"


def inbox_rejects(site: str) -> str:
    """Return the list of a site's inbox records no drainer could count, newest last.

    Kept for people to look at: at most REJECTS_KEPT records, for REJECTS_TTL_S after the last.
    """
    return f"pt:{{{site}}}:inbox:rejects"


REJECTS_KEPT = 1000
REJECTS_TTL_S = 30 * 86_400


def inbox_lock(site: str) -> str:
    """Return the key that says who drains a site's inbox (expires if its holder dies)."""
    return f"pt:{{{site}}}:inbox:lock"


def top_scratch(site: str, nonce: str) -> str:
    """Return a short-lived key where a range's top list is summed (expires in seconds)."""
    return f"pt:{{{site}}}:a:scratch:{nonce}"


def parse_counter(name: str) -> tuple[str, str]:
    """Return (namespace, key) of a counter's key name."""
    tagged, _, key = name.removeprefix("pt:").partition(":c:")
    return tagged.strip("{}"), key


# What the Lua scripts' `$Class_NAME` placeholders stand for.
LUA_FIELDS = {
    f"{fields.__name__}_{field.name}": field.value
    for fields in (CounterField, TotalsField)
    for field in fields
}
