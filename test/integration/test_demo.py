"""`page-tracker demo`: a month of made-up views, counted as real ones would be."""

from datetime import UTC, datetime, timedelta

import redis
from click.testing import CliRunner

from page_tracker.cli import main
from page_tracker.embedded import RedisServer
from page_tracker.services import demo, site_figures, sites


def test_demo_fills_a_site_with_a_month_that_reads_like_traffic(
    redis_server: RedisServer, redis_client: redis.Redis
) -> None:
    result = CliRunner().invoke(
        main,
        ["demo", "--site", "demo.site", "--views", "4000"],
        env={"REDIS_URL": redis_server.url},
    )
    assert result.exit_code == 0, result.output
    assert "counted 4000 made-up views of demo.site" in result.stdout
    site = sites.load(redis_client, "demo.site")
    now = datetime.now(UTC)
    today = sites.local_day(site, now)
    month = site_figures.span(today, None, (today - timedelta(days=demo.DAYS)).isoformat(), None)
    figures = site_figures.figures(redis_client, site, month, now)
    totals = figures["totals"]
    assert totals["views"] + totals["bots"] == 4000
    assert 0 < totals["bots"] < 200
    assert 0 < totals["visitors"] < totals["views"]  # visitors come back
    pages = [entry["page"] for entry in figures["pages"]]
    assert pages[0] == "/"  # the most viewed, as Zipf has it
    assert {"/pricing", "/docs/"} <= set(pages[:5])
    assert {entry["referrer"] for entry in figures["referrers"]} >= {"www.google.com"}
    by_weekday = [0] * 7
    for day in figures["series"]:
        by_weekday[datetime.fromisoformat(day["time"]).weekday()] += day["views"]
    assert min(by_weekday[:5]) > max(by_weekday[5:])  # weekdays are busier


def test_the_same_seed_makes_the_same_views() -> None:
    site = sites.make_site("demo.site", ["demo.test"])
    now = datetime.now(UTC)
    assert list(demo.views(site, 50, now, seed=7)) == list(demo.views(site, 50, now, seed=7))
    assert list(demo.views(site, 50, now, seed=7)) != list(demo.views(site, 50, now, seed=8))


def test_demo_explains_a_site_name_it_cannot_use(redis_server: RedisServer) -> None:
    result = CliRunner().invoke(main, ["demo", "--site", "x"], env={"REDIS_URL": redis_server.url})
    assert result.exit_code == 1
    assert "name must be 3 to 64 characters" in result.output
