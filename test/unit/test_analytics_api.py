"""Website analytics' tests, run here against fakeredis swapped in at the injection point.

The same test functions run against a real redis-server in test/integration; collecting them
in this module makes them use this module's fixtures instead.
"""

import pytest
from flask import Flask

from page_tracker.extensions import CLOCK
from test.clock import Clock
from test.integration.test_analytics import *  # noqa: F403


@pytest.fixture
def app_config(app_config: dict[str, object]) -> dict[str, object]:
    return {**app_config, "RATE_LIMIT": "", "ADMIN_TOKEN": "s3rver-admin-token"}


@pytest.fixture
def app(app: Flask, clock: Clock) -> Flask:
    app.extensions[CLOCK] = clock
    return app
