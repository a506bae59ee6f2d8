"""`page-tracker site` and `page-tracker token` against a real Redis."""

import redis
from click.testing import CliRunner

from page_tracker.cli import main
from page_tracker.embedded import RedisServer
from page_tracker.services import sites


def run(redis_server: RedisServer, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, args, env={"REDIS_URL": redis_server.url})
    return result.exit_code, result.stdout, result.stderr


def test_a_site_is_added_listed_and_given_tokens(
    redis_server: RedisServer, redis_client: redis.Redis
) -> None:
    code, out, _ = run(redis_server, "site", "add", "blog", "--domain", "Example.COM",
                       "--domain", "example.net", "--tz", "Europe/Paris")  # fmt: skip
    assert code == 0
    assert 'data-site="blog"' in out
    assert (
        run(redis_server, "site", "list")[1]
        == "blog\texample.com,example.net\tEurope/Paris\t365d\n"
    )
    code, secret, _ = run(redis_server, "token", "add", "--scope", "read", "--site", "blog")
    assert code == 0
    token_id, scope, site = run(redis_server, "token", "list")[1].split()
    assert (scope, site) == ("read", "blog")
    assert sites.authorize(redis_client, secret.strip()) == sites.Grant("read", "blog", token_id)
    assert secret.strip() not in str(redis_client.hgetall(redis_client.keys("pt:token:*")[0]))
    assert run(redis_server, "token", "revoke", token_id)[0] == 0
    assert sites.authorize(redis_client, secret.strip()) is None


def test_mistakes_are_explained(redis_server: RedisServer, redis_client: redis.Redis) -> None:
    code, _, err = run(redis_server, "site", "add", "blog", "--domain", "a.test", "--tz", "Nowhere")
    assert code == 1
    assert "tz must be an IANA time zone" in err
    run(redis_server, "site", "add", "blog", "--domain", "a.test")
    assert "already exists" in run(redis_server, "site", "add", "blog", "--domain", "a.test")[2]
    assert (
        "no site shop" in run(redis_server, "token", "add", "--scope", "read", "--site", "shop")[2]
    )
    assert (
        "give no site" in run(redis_server, "token", "add", "--scope", "admin", "--site", "blog")[2]
    )
    assert "no token" in run(redis_server, "token", "revoke", "abc")[2]
