"""The key schema: every Redis key page-tracker uses is built here, with its lifetime."""

from datetime import date

# The seed app's key, kept as it is so a running seed deployment keeps its count when it
# switches to page-tracker.  It has no TTL: it is one key, and a total must never expire.
PAGE_VIEWS = "page_views"

# Every key of a namespace carries the hash tag {namespace}, so in a Redis Cluster they all
# live in one slot and one script may touch them together.  Names cannot contain the braces or
# colons these keys use as separators (see web/names.py), so no two keys can collide.
#
# Lifetimes (set by the scripts that write them):
# - counter, all-time uniques, namespace totals: the retention, renewed by every write, so an
#   idle counter expires with everything it owns;
# - per-day hits and uniques: the history length, counted from that day's last write.
COUNTER_PATTERN = "pt:{*}:c:*"


def counter(namespace: str, key: str) -> str:
    """Return the hash of a counter: value, created, admin (key hash), updated."""
    return f"pt:{{{namespace}}}:c:{key}"


def hours(namespace: str, key: str, day: date) -> str:
    """Return the hash of a counter's hits on a UTC day, one field per hour (0-23)."""
    return f"pt:{{{namespace}}}:h:{key}:{day.isoformat()}"


def day_uniques(namespace: str, key: str, day: date) -> str:
    """Return the HyperLogLog of a counter's visitors on a UTC day."""
    return f"pt:{{{namespace}}}:u:{key}:{day.isoformat()}"


def all_uniques(namespace: str, key: str) -> str:
    """Return the HyperLogLog of a counter's visitors since it was created."""
    return f"pt:{{{namespace}}}:u:{key}:all"


def namespace_totals(namespace: str) -> str:
    """Return the hash of a namespace's totals (hits)."""
    return f"pt:{{{namespace}}}:totals"


def visitor_secret(day: date) -> str:
    """Return the key of the random secret that keys visitor ids on a UTC day (TTL 2 days)."""
    return f"pt:secret:{day.isoformat()}"


def parse_counter(name: str) -> tuple[str, str]:
    """Return (namespace, key) of a counter's key name."""
    tagged, _, key = name.removeprefix("pt:").partition(":c:")
    return tagged.strip("{}"), key
