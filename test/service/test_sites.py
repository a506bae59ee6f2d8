"""Sites and tokens in the users' words: register, change, share, revoke, remove."""

import time
from typing import TypeVar

import pytest
import redis

from page_tracker.services import sites
from page_tracker.store import keys
from page_tracker.store.calls import Blocking, Call, finish
from test.clock import Clock

T = TypeVar("T")


def test_a_site_is_registered_once_and_loaded_as_it_was_given(
    redis_client: redis.Redis, blog: sites.Site
) -> None:
    assert sites.load(redis_client, "blog") == blog
    assert sites.names(redis_client) == ["blog"]
    with pytest.raises(sites.SiteExistsError):
        sites.add(redis_client, blog)
    with pytest.raises(sites.UnknownSiteError):
        sites.load(redis_client, "nosuchsite")


def test_what_is_wrong_with_a_site_is_named_with_its_field() -> None:
    with pytest.raises(sites.SiteError, match="tz must be an IANA time zone") as refused:
        sites.make_site("blog", ["example.com"], "Mars/Olympus")
    assert refused.value.field == "tz"


def test_a_sites_settings_change_and_its_removal_takes_its_tokens_and_figures(
    redis_client: redis.Redis, blog: sites.Site, clock: Clock
) -> None:
    moved = sites.make_site("blog", ["example.org"], "UTC", 30, created=blog.created)
    sites.update(redis_client, moved)
    assert sites.load(redis_client, "blog") == moved
    token_id, _ = sites.mint_token(redis_client, "read", "blog", int(clock.now.timestamp()))
    redis_client.set(keys.inbox("blog"), "x")
    assert sites.remove(redis_client, "blog") >= 2
    assert sites.names(redis_client) == []
    assert not sites.is_live(redis_client, token_id)
    with pytest.raises(sites.UnknownSiteError):
        sites.update(redis_client, moved)


def test_a_token_allows_what_its_scope_says_until_it_is_revoked(
    redis_client: redis.Redis, blog: sites.Site, clock: Clock
) -> None:
    created = int(clock.now.timestamp())
    token_id, token = sites.mint_token(redis_client, "read", "blog", created)
    grant = sites.authorize(redis_client, token)
    assert grant == sites.Grant("read", "blog", token_id)
    assert grant.can_read("blog")
    assert not grant.can_read("other")
    assert not grant.can_ingest("blog")
    forged = token[:-1] + ("y" if token[-1] != "y" else "z")
    assert sites.authorize(redis_client, forged) is None
    assert sites.revoke_token(redis_client, token_id)
    assert sites.authorize(redis_client, token) is None


def test_an_admin_token_is_for_every_site_and_a_site_token_for_a_real_one(
    redis_client: redis.Redis, blog: sites.Site
) -> None:
    with pytest.raises(sites.SiteError, match="an admin token is for every site"):
        sites.mint_token(redis_client, "admin", "blog", 0)
    with pytest.raises(sites.UnknownSiteError):
        sites.mint_token(redis_client, "ingest", "nosuchsite", 0)
    assert not sites.has_admin_token(redis_client)
    sites.mint_token(redis_client, "admin", "", 0)
    assert sites.has_admin_token(redis_client)


class CountedCalls(Blocking):
    """The blocking client as Calls, counting the round trips it makes."""

    def __init__(self, redis_client: redis.Redis) -> None:
        super().__init__(redis_client)
        self.made = 0

    async def run(self, call: Call[T]) -> T:
        self.made += 1
        return await super().run(call)


def test_a_worker_looks_each_site_name_up_once_a_while_known_or_not(
    redis_client: redis.Redis, blog: sites.Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sites, "SETTINGS_CACHE_S", 0.2)
    book, counted = sites.SiteBook(), CountedCalls(redis_client)
    for _ in range(3):
        assert finish(book.find(counted, "blog")) == blog
        with pytest.raises(sites.UnknownSiteError):
            finish(book.find(counted, "made.up"))
    assert counted.made == 2  # one lookup a name, however many views name it
    sites.add(redis_client, sites.make_site("made.up", ["made.example"]))
    time.sleep(0.3)  # past the cache's lifetime: the new site is seen
    assert finish(book.find(counted, "made.up")).domains == ("made.example",)
