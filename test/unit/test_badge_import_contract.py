"""Badges, CSV import, the OpenAPI contract and a CountAPI client, against fakeredis.

The test functions are shared with test/integration/test_badges_and_more.py; here they use this
module's fixtures. Export/import through the CLI and the Redis-backed rate limit need a real
server and stay in the integration layer; the limiter is checked here with its memory storage.
"""

import pytest
from flask.testing import FlaskClient

from test.integration.test_badges_and_more import (
    test_a_countapi_client_works_unchanged,
    test_bad_badge_options_are_400_before_anything_is_counted,
    test_badge_count_false_only_reads_and_base_offsets,
    test_badge_counts_and_draws_an_uncacheable_svg,
    test_badge_shows_today_or_unique_visitors,
    test_badge_width_follows_the_font_metrics,
    test_every_route_is_documented_and_every_documented_path_is_routed,
    test_every_status_the_api_answers_is_documented,
    test_post_import_refuses_bad_tokens_and_rows,
    test_post_import_takes_csv_rows_from_a_dead_service,
)

__all__ = [
    "test_a_countapi_client_works_unchanged",
    "test_bad_badge_options_are_400_before_anything_is_counted",
    "test_badge_count_false_only_reads_and_base_offsets",
    "test_badge_counts_and_draws_an_uncacheable_svg",
    "test_badge_shows_today_or_unique_visitors",
    "test_badge_width_follows_the_font_metrics",
    "test_every_route_is_documented_and_every_documented_path_is_routed",
    "test_every_status_the_api_answers_is_documented",
    "test_post_import_refuses_bad_tokens_and_rows",
    "test_post_import_takes_csv_rows_from_a_dead_service",
]


@pytest.fixture
def app_config(app_config: dict[str, object]) -> dict[str, object]:
    return {**app_config, "RATE_LIMIT": "", "ADMIN_TOKEN": "t0ken-admin-token"}


@pytest.mark.parametrize(
    "app_config", [{"RATE_LIMIT": "2/minute", "RATE_LIMIT_STORAGE": "memory://"}]
)
def test_rate_limit_answers_429_with_headers_over_the_limit(client: FlaskClient) -> None:
    assert client.get("/hit/site.one/home").headers["RateLimit-Remaining"] == "1"
    assert client.get("/hit/site.one/home").status_code == 200
    refused = client.get("/hit/site.one/home")
    assert refused.status_code == 429
    assert refused.json["error"] == "Too Many Requests"  # type: ignore[index]
    assert int(refused.headers["Retry-After"]) >= 1


@pytest.mark.parametrize("app_config", [{"RATE_LIMIT_STORAGE": "memory://"}])
def test_import_is_off_without_an_admin_token(client: FlaskClient) -> None:
    assert client.post("/import", data="a,b,c", content_type="text/csv").status_code == 403
