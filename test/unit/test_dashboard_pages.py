"""The dashboard's tests, run here against fakeredis swapped in at the injection point.

The same test functions run against a real redis-server in test/integration.
"""

import pytest
from flask import Flask

from page_tracker.extensions import CLOCK
from test.clock import Clock
from test.integration.test_analytics import NOW
from test.integration.test_dashboard import *  # noqa: F403


@pytest.fixture
def app_config(app_config: dict[str, object]) -> dict[str, object]:
    return {
        **app_config,
        "RATE_LIMIT": "",
        "ADMIN_TOKEN": "s3rver-admin-token",
        "LIVE_STREAM_SECONDS": 2,
    }


@pytest.fixture
def app(app: Flask) -> Flask:
    app.extensions[CLOCK] = Clock(NOW)
    return app
