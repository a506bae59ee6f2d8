"""Dashboard sign-ins and moving counters, in the users' words."""

import redis

from page_tracker.services import counters, sessions, transfer
from page_tracker.services.counters import Policy
from page_tracker.store.calls import Blocking, finish
from test.clock import Clock

LIFETIMES = sessions.Lifetimes(total_s=7 * 86_400, idle_s=3600)


def test_a_sign_in_lives_until_it_is_ended_or_too_old(
    redis_client: redis.Redis, clock: Clock
) -> None:
    started = clock.now.timestamp()
    session_id = sessions.start(redis_client, LIFETIMES)
    assert sessions.alive(redis_client, session_id, started, started + 60, LIFETIMES)
    too_late = started + LIFETIMES.total_s + 1
    assert not sessions.alive(redis_client, session_id, started, too_late, LIFETIMES)
    sessions.end(redis_client, session_id)
    assert not sessions.alive(redis_client, session_id, started, started + 60, LIFETIMES)


def test_a_sign_in_link_works_once(redis_client: redis.Redis) -> None:
    secret = sessions.make_link(redis_client)
    assert sessions.link_waits(redis_client, secret)
    assert sessions.use_link(redis_client, secret) is not None
    assert not sessions.link_waits(redis_client, secret)
    assert sessions.use_link(redis_client, secret) is None


def test_counters_exported_and_imported_come_back_with_their_history(
    redis_client: redis.Redis, policy: Policy, clock: Clock
) -> None:
    counters.create(redis_client, policy, "site.one", "home", 41, clock.now)
    finish(counters.hit(Blocking(redis_client), policy, "site.one", "home", clock.now, "v1"))
    exported = list(transfer.export_records(redis_client, policy.history_days, clock.now))
    redis_client.flushall()
    assert transfer.import_records(redis_client, exported, replace=False) == {
        "imported": 1,
        "skipped": 0,
    }
    assert counters.read(redis_client, "site.one", "home").value == 42
    assert list(transfer.export_records(redis_client, policy.history_days, clock.now)) == exported
    assert transfer.import_records(redis_client, exported, replace=False)["skipped"] == 1
