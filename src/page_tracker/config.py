"""Settings: defaults, then the environment, then a mapping passed to the app factory."""

from collections.abc import Callable, Mapping
from typing import Any

# Each setting, its default, and the environment variable that overrides it.  REDIS_URL keeps
# the seed app's unprefixed name so an existing deployment's environment still works.
DEFAULTS: dict[str, Any] = {
    "REDIS_URL": "redis://localhost:6379",
    "REDIS_TIMEOUT": 0.5,
    "RETRY_AFTER": 5,
    # Counters idle this long expire with their history and admin key.
    "RETENTION_DAYS": 365,
    # Per-day hits and unique visitors are kept this long (at most the retention).
    "HISTORY_DAYS": 365,
    # Hits and creations per client IP, in the notation of the `limits` library; "" for none.
    "RATE_LIMIT": "600/minute",
    # Beacons and pixels per client IP: pages send them for their visitors (a whole office may
    # share one address), so the budget is their own; "" for none.
    "VIEW_RATE_LIMIT": "300/minute",
    # Tokens and admin keys that did not work, per client IP, before a 429; "" for no limit.
    "AUTH_FAILURE_LIMIT": "20/minute",
    # The token for server-wide admin calls (POST /import); "" turns them off.
    "ADMIN_TOKEN": "",  # nosec B105 - empty means no token, and admin calls are off
    # How many reverse proxies in front set X-Forwarded-For (0: use the peer address).
    "PROXY_COUNT": 0,
    # Signs dashboard sessions; "" makes one, kept in Redis and shared by every worker.
    "SECRET_KEY": "",  # nosec B105 - empty means a random key is made
    # Live dashboard streams one worker of `serve` holds at once (each a coroutine, fed by one
    # subscription per worker), and how long one lasts before the browser reconnects.
    "LIVE_STREAMS": 2000,
    "LIVE_STREAM_SECONDS": 30,
    # A dashboard sign-in lasts this long at most, and ends after this long without use.
    "SESSION_DAYS": 7,
    "SESSION_IDLE_HOURS": 24,
    # The largest request body read anywhere, unless a route sets its own (imports, batches).
    "MAX_CONTENT_LENGTH": 64 * 1024,
    # A request's headers, and then its body, must each arrive within this many seconds: a
    # client that sends slowly is answered 408 (or, for headers, cut off), never waited for.
    "READ_TIMEOUT_S": 10,
    # Form fields held in memory at most: sign-in and the dashboard's forms are small.
    "MAX_FORM_MEMORY_SIZE": 64 * 1024,
    # The port `serve` answers Prometheus on, apart from the public one; 0 counts nothing.
    "METRICS_PORT": 0,
    # Log lines as readable "text" or one "json" object each, from this level up (INFO has
    # a line per request).
    "LOG_FORMAT": "text",
    "LOG_LEVEL": "INFO",
    # /readyz says "degraded" once the oldest view waiting to be counted is older than this.
    "INBOX_LAG_LIMIT_S": 60,
}
ENV_NAMES = {key: key if key == "REDIS_URL" else f"PAGE_TRACKER_{key}" for key in DEFAULTS}


# A shorter server admin token could be guessed; tokens that page-tracker makes have 32.
MIN_ADMIN_TOKEN = 16
MAX_PORT = 65535
FORMATS = ("text", "json")
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class ConfigError(ValueError):
    """A setting has a value page-tracker cannot use."""


def load_config(
    environ: Mapping[str, str], overrides: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Return validated settings: defaults, then `environ`, then `overrides`."""
    config = dict(DEFAULTS)
    for key, env_name in ENV_NAMES.items():
        if env_name in environ:
            config[key] = environ[env_name]
    config.update(overrides or {})
    return _validated(config)


def _validated(config: dict[str, Any]) -> dict[str, Any]:
    config["REDIS_TIMEOUT"] = _number("REDIS_TIMEOUT", config["REDIS_TIMEOUT"], float, 0)
    for key in (
        "RETRY_AFTER",
        "RETENTION_DAYS",
        "HISTORY_DAYS",
        "LIVE_STREAMS",
        "LIVE_STREAM_SECONDS",
        "SESSION_DAYS",
        "SESSION_IDLE_HOURS",
        "MAX_CONTENT_LENGTH",
        "MAX_FORM_MEMORY_SIZE",
        "READ_TIMEOUT_S",
        "INBOX_LAG_LIMIT_S",
    ):
        config[key] = int(_number(key, config[key], int, 0))
    config["PROXY_COUNT"] = int(_number("PROXY_COUNT", config["PROXY_COUNT"], int, -1))
    config["METRICS_PORT"] = int(_number("METRICS_PORT", config["METRICS_PORT"], int, -1))
    if config["METRICS_PORT"] > MAX_PORT:
        raise ConfigError(f"{ENV_NAMES['METRICS_PORT']} must be a port number, at most {MAX_PORT}")
    config["LOG_FORMAT"] = _choice("LOG_FORMAT", str(config["LOG_FORMAT"]).strip().lower(), FORMATS)
    config["LOG_LEVEL"] = _choice("LOG_LEVEL", str(config["LOG_LEVEL"]).strip().upper(), LEVELS)
    if config["HISTORY_DAYS"] > config["RETENTION_DAYS"]:
        raise ConfigError(
            f"{ENV_NAMES['HISTORY_DAYS']} must not exceed {ENV_NAMES['RETENTION_DAYS']}: "
            "history would outlive its counter"
        )
    if config["ADMIN_TOKEN"] and len(config["ADMIN_TOKEN"]) < MIN_ADMIN_TOKEN:
        raise ConfigError(
            f"{ENV_NAMES['ADMIN_TOKEN']} must be at least {MIN_ADMIN_TOKEN} characters: it "
            "opens every site and counter (make one with: openssl rand -hex 16)"
        )
    if not str(config["REDIS_URL"]).startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError(
            f"{ENV_NAMES['REDIS_URL']} must start with redis://, rediss:// or unix://, "
            f"got {config['REDIS_URL']!r}"
        )
    return config


def _choice(key: str, value: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ConfigError(f"{ENV_NAMES[key]} must be one of {', '.join(choices)}, got {value!r}")
    return value


def _number(key: str, value: object, kind: Callable[[Any], float], above: int) -> float:
    try:
        number = kind(value)
    except (TypeError, ValueError):
        number = above
    if number <= above:
        wanted = "a positive number" if above == 0 else f"a number above {above}"
        raise ConfigError(f"{ENV_NAMES[key]} must be {wanted}, got {value!r}")
    return number
