"""The application factory."""

import os
import weakref
from collections.abc import Mapping
from typing import Any

from flask import Flask

from page_tracker.config import load_config
from page_tracker.extensions import REDIS
from page_tracker.store.connection import connect
from page_tracker.web import health, home
from page_tracker.web.errors import register_error_handlers


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app from defaults, the environment and `config`, in that order."""
    app = Flask(__name__)
    app.config.from_mapping(load_config(os.environ, config))
    client = connect(app.config["REDIS_URL"], app.config["REDIS_TIMEOUT"])
    app.extensions[REDIS] = client
    # Close the pool's sockets when the app goes away, at the latest when the worker exits.
    weakref.finalize(app, client.close)
    register_error_handlers(app)
    app.register_blueprint(home.bp)
    app.register_blueprint(health.bp)
    return app
