"""Settings: defaults, then the environment, then a mapping passed to the app factory."""

from collections.abc import Callable, Mapping
from typing import Any

# Each setting, its default, and the environment variable that overrides it.  REDIS_URL keeps
# the seed app's unprefixed name so an existing deployment's environment still works.
DEFAULTS: dict[str, Any] = {
    "REDIS_URL": "redis://localhost:6379",
    "REDIS_TIMEOUT": 0.5,
    "RETRY_AFTER": 5,
}
ENV_NAMES = {key: key if key == "REDIS_URL" else f"PAGE_TRACKER_{key}" for key in DEFAULTS}


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
    config["REDIS_TIMEOUT"] = _positive("REDIS_TIMEOUT", config["REDIS_TIMEOUT"], float)
    config["RETRY_AFTER"] = _positive("RETRY_AFTER", config["RETRY_AFTER"], int)
    if not str(config["REDIS_URL"]).startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError(
            f"{ENV_NAMES['REDIS_URL']} must start with redis://, rediss:// or unix://, "
            f"got {config['REDIS_URL']!r}"
        )
    return config


def _positive(key: str, value: object, kind: Callable[[Any], float]) -> float:
    try:
        number = kind(value)
    except (TypeError, ValueError):
        number = 0
    if number <= 0:
        raise ConfigError(f"{ENV_NAMES[key]} must be a positive number, got {value!r}")
    return number
