import pytest

from page_tracker.config import DEFAULTS, ConfigError, load_config


def test_defaults_apply_without_environment_or_overrides() -> None:
    assert load_config({}) == DEFAULTS


def test_environment_overrides_defaults() -> None:
    config = load_config(
        {
            "REDIS_URL": "redis://cache:6380/2",
            "PAGE_TRACKER_REDIS_TIMEOUT": "0.25",
            "PAGE_TRACKER_RETRY_AFTER": "9",
        }
    )
    assert config["REDIS_URL"] == "redis://cache:6380/2"
    assert config["REDIS_TIMEOUT"] == 0.25
    assert config["RETRY_AFTER"] == 9


def test_mapping_overrides_environment() -> None:
    config = load_config({"REDIS_URL": "redis://from-env"}, {"REDIS_URL": "unix:///run/r.sock"})
    assert config["REDIS_URL"] == "unix:///run/r.sock"


def test_unprefixed_settings_other_than_redis_url_are_ignored() -> None:
    assert load_config({"RETRY_AFTER": "99"})["RETRY_AFTER"] == DEFAULTS["RETRY_AFTER"]


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PAGE_TRACKER_REDIS_TIMEOUT": "soon"}, "PAGE_TRACKER_REDIS_TIMEOUT must be a positive"),
        ({"PAGE_TRACKER_REDIS_TIMEOUT": "0"}, "PAGE_TRACKER_REDIS_TIMEOUT must be a positive"),
        ({"PAGE_TRACKER_RETRY_AFTER": "-1"}, "PAGE_TRACKER_RETRY_AFTER must be a positive"),
        ({"REDIS_URL": "http://localhost"}, "REDIS_URL must start with redis://"),
        ({"PAGE_TRACKER_ADMIN_TOKEN": "secret"}, "PAGE_TRACKER_ADMIN_TOKEN must be at least 16"),
    ],
)
def test_invalid_settings_are_rejected_with_the_variable_named(
    env: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(env)
