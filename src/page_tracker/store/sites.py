"""Sites and API tokens in Redis."""

from collections.abc import Iterator, Mapping
from typing import Any, cast

from redis import Redis

from page_tracker.store import calls, keys
from page_tracker.store.calls import Call
from page_tracker.store.keys import SiteField


def add_site(redis: Redis, name: str, settings: Mapping[str, str]) -> bool:
    """Store a new site's settings; return False if the site already exists."""
    if not redis.hsetnx(keys.site(name), keys.SiteField.CREATED, settings[keys.SiteField.CREATED]):
        return False
    # The site's hash and the registry live in different slots: two writes, registry last,
    # so a listed site always has its settings.
    redis.hset(keys.site(name), mapping=cast(Any, settings))
    redis.sadd(keys.SITES, name)
    return True


def update_site(redis: Redis, name: str, settings: Mapping[str, str]) -> bool:
    """Replace a site's settings; return False if there is no such site."""
    pipe = redis.pipeline(transaction=True)
    pipe.exists(keys.site(name))
    pipe.hset(keys.site(name), mapping=cast(Any, settings))
    existed, _ = pipe.execute()
    if not existed:  # the HSET made a stray hash: nothing lists it, and it goes again
        redis.delete(keys.site(name))
    return bool(existed)


def remove_site(redis: Redis, name: str) -> int:
    """Delete a site: its registry entry, settings, figures and inbox; return the keys deleted."""
    # Registry first, so no list shows a site half gone.
    redis.srem(keys.SITES, name)
    deleted = int(redis.delete(keys.site(name)))
    batch: list[str] = []
    for pattern in keys.site_data_patterns(name):
        for found in redis.scan_iter(match=pattern, count=1000):
            batch.append(found)
            if len(batch) == 1000:
                deleted += int(redis.unlink(*batch))
                batch.clear()
    if batch:
        deleted += int(redis.unlink(*batch))
    return deleted


def site_settings(name: str) -> Call[dict[SiteField, str]]:
    """Return the Call that reads a site's settings (none if there is no such site)."""

    def read(values: list[str | None]) -> dict[SiteField, str]:
        return {field: value for field, value in zip(SiteField, values, strict=True) if value}

    return calls.command(read, "HMGET", keys.site(name), *SiteField)


def site_names(redis: Redis) -> list[str]:
    """Return the names of every site, sorted."""
    return sorted(cast(set[str], redis.smembers(keys.SITES)))


def add_token(redis: Redis, token_id: str, fields: Mapping[str, str]) -> None:
    """Store an API token's hash, scope and site under its public id."""
    redis.hset(keys.token(token_id), mapping=cast(Any, fields))


def token_fields(redis: Redis, token_id: str) -> dict[str, str]:
    """Return a token's stored fields, empty if there is no such token."""
    return cast(dict[str, str], redis.hgetall(keys.token(token_id)))


def remove_token(redis: Redis, token_id: str) -> bool:
    """Delete a token; return False if there was none."""
    return bool(redis.delete(keys.token(token_id)))


def shared_secret(redis: Redis, candidate: str) -> str:
    """Return the session-signing secret, storing `candidate` if there is none (no TTL)."""
    pipe = redis.pipeline(transaction=False)
    pipe.set(keys.SESSION_SECRET, candidate, nx=True)
    pipe.get(keys.SESSION_SECRET)
    return str(pipe.execute()[1])


def token_ids(redis: Redis) -> Iterator[str]:
    """Yield the id of every token."""
    for name in redis.scan_iter(match=keys.TOKEN_PATTERN, count=1000):
        yield keys.token_id(name)
