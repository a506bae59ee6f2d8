"""The application factory."""

import os
import weakref
from collections.abc import Mapping
from typing import Any

from flask import Flask
from prometheus_client import CollectorRegistry

from page_tracker.config import load_config
from page_tracker.extensions import (
    BUDGETS,
    CLOCK,
    INBOX,
    METRICS,
    POLICY,
    REDIS,
    SECRETS,
    SITES,
    system_clock,
)
from page_tracker.metrics import Metrics, Unmeasured
from page_tracker.services.counters import Policy
from page_tracker.services.ingest.inbox import Drainer
from page_tracker.services.sites import SiteBook, names
from page_tracker.store.connection import connect
from page_tracker.store.pipelined import LoopRedis
from page_tracker.web.bodies import StrictJSONProvider
from page_tracker.web.busy import counters, fast, health, tracking
from page_tracker.web.dashboard import forms, pages
from page_tracker.web.dashboard.setup import init_dashboard
from page_tracker.web.endpoints import check, declare_cors, guard
from page_tracker.web.errors import register_error_handlers
from page_tracker.web.management import imports, openapi, sites
from page_tracker.web.ratelimit import configured
from page_tracker.web.serving.observed import Observed, RoutedRequest
from page_tracker.web.serving.on_loop import OnLoop
from page_tracker.web.serving.proxied import Proxied


class App(Flask):
    """The Flask app, and its busy endpoints as a worker's event loop answers them.

    Not in `extensions`: the inbox's drainer thread holds those, and must not hold the app.
    """

    on_loop: OnLoop


def create_app(config: Mapping[str, Any] | None = None) -> App:
    """Build the app from defaults, the environment and `config`, in that order."""
    app = App(__name__)
    app.request_class = RoutedRequest
    app.config.from_mapping(load_config(os.environ, config))
    app.json = StrictJSONProvider(app)
    # Metrics are counted only where something can read them: under `serve` with a port.
    metrics = Metrics(CollectorRegistry()) if app.config["METRICS_PORT"] else Unmeasured()
    app.extensions[METRICS] = metrics
    watch = metrics if metrics.enabled else None
    client = connect(app.config["REDIS_URL"], app.config["REDIS_TIMEOUT"], watch)
    app.extensions[REDIS] = client
    app.extensions[CLOCK] = system_clock
    app.extensions[SECRETS] = {}
    app.extensions[SITES] = book = SiteBook()
    app.extensions[BUDGETS] = configured(app.config)
    extensions = app.extensions  # not the app: the drainer must not keep it alive
    # The client and the clock are looked up at each call: tests swap them after the factory.
    app.extensions[INBOX] = drainer = Drainer(
        lambda: extensions[REDIS],
        lambda: extensions[CLOCK](),  # noqa: PLW0108
        book.get,
        names,
        metrics,
    )
    app.extensions[POLICY] = Policy(app.config["RETENTION_DAYS"], app.config["HISTORY_DAYS"])
    # Close the pool's sockets when the app goes away, at the latest when the worker exits.
    weakref.finalize(app, client.close)
    weakref.finalize(app, drainer.stop)
    register_error_handlers(app)
    declare_cors(app)
    # /get/default/x and /get/x name the same counter; answer both rather than redirect.
    app.url_map.redirect_defaults = False
    for blueprint in (
        health.bp,
        counters.bp,
        imports.bp,
        openapi.bp,
        tracking.bp,
        sites.bp,
    ):
        app.register_blueprint(blueprint)
    init_dashboard(app, pages.bp, forms.bp)
    # A route the endpoint table does not know, or a declaration of nothing, stops start-up.
    check(
        (rule.endpoint for routes in (app.url_map, fast.RULES) for rule in routes.iter_rules()),
        (rule.endpoint for rule in fast.RULES.iter_rules()),
    )
    guard(app)
    busy = fast.FastApp(app.extensions, app.logger, app.config["RETRY_AFTER"], app.wsgi_app)
    # Outermost, so the fast app too sees the client's address rather than the proxy's.
    count = app.config["PROXY_COUNT"]
    proxied = Proxied(busy, count) if count else None
    # Outermost of all, so that a request's time and log line cover everything below.
    observed = Observed(proxied or busy, metrics, trust_proxy=count > 0)
    app.wsgi_app = observed  # type: ignore[method-assign]
    # The same endpoints on a worker's event loop, with a Redis client of the loop's own.  It
    # connects at its first call, so an app that never serves on a loop never opens it.
    loop_redis = LoopRedis(app.config["REDIS_URL"], app.config["REDIS_TIMEOUT"], watch)
    app.on_loop = OnLoop(busy, observed, proxied, loop_redis)
    return app
