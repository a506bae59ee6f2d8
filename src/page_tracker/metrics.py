"""What page-tracker counts for Prometheus: requests, views in, the inbox, Redis, limits, streams.

Every label value comes from a fixed set (route templates, methods, status classes, reasons,
Redis command names), never from what a client sent: the number of series does not grow with
the data.  Under `serve`, each worker writes its figures to the multiprocess directory and the
exporter (exporter.py) adds them up at each scrape.
"""

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

NAMESPACE = "page_tracker"
# Seconds: a hit takes about a millisecond, a live stream half a minute.
REQUEST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 30.0)
COMMAND_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Why a beacon or pixel was not counted as a view.
NOT_COUNTED = ("dnt", "bot", "refused_origin", "malformed", "unknown_site")
BUDGETS = ("writes", "page views", "failed tokens")
# The Redis errors an operator watches for; any other kind gets its series when it happens.
REDIS_ERRORS = ("ConnectionError", "TimeoutError", "OutOfMemoryError", "ResponseError")
UNMATCHED = "<unmatched>"


class Unmeasured:
    """Instruments that count nothing: the app's when no metrics port is set."""

    enabled = False

    def request(self, route: str, method: str, status: int, seconds: float) -> None:
        """Count an answered request and how long it took."""

    def hit(self) -> None:
        """Count a counter hit."""

    def beacon(self, not_counted: str | None) -> None:
        """Count a view from a browser: counted, or not counted for a reason of NOT_COUNTED."""

    def batch(self, accepted: int, rejected: int) -> None:
        """Count the events of a server's batch."""

    def drained(self, records: int, set_aside: int) -> None:
        """Count one drained batch of inbox records, and the unreadable ones set aside."""

    def drain_failed(self) -> None:
        """Count a drain round that Redis failed."""

    def command(self, name: str, seconds: float) -> None:
        """Count a Redis command (or a pipeline) and how long it took."""

    def redis_error(self, kind: str) -> None:
        """Count a Redis error by its class name."""

    def rate_limited(self, budget: str) -> None:
        """Count a request refused by the rate limit of `budget`."""

    def stream_opened(self) -> None:
        """Note that a live dashboard stream started."""

    def stream_closed(self) -> None:
        """Note that a live dashboard stream ended."""

    def sent_to_polling(self) -> None:
        """Count a live dashboard sent to polling because the streams were full."""


class Metrics(Unmeasured):
    """Instruments kept in `registry`; under `serve`, in the multiprocess directory too."""

    enabled = True

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

        def counter(name: str, text: str, labels: tuple[str, ...] = ()) -> Counter:
            return Counter(name, text, labels, namespace=NAMESPACE, registry=registry)

        self._requests = counter(
            "requests", "Requests answered, by route template, method and status class.",
            ("route", "method", "status"),
        )  # fmt: skip
        self._request_seconds = Histogram(
            "request_duration_seconds", "Time to answer a request, by route template and method.",
            ("route", "method"), namespace=NAMESPACE, registry=registry, buckets=REQUEST_BUCKETS,
        )  # fmt: skip
        self._hits = counter("hits", "Counter hits counted.")
        self._beacons = counter("beacons_accepted", "Views from browsers counted as views.")
        self._not_counted = counter(
            "beacons_not_counted", "Views from browsers not counted as views, by reason.",
            ("reason",),
        )  # fmt: skip
        self._batch = counter(
            "batch_events", "Events of servers' batches, accepted or rejected.", ("result",)
        )
        self._drained = counter("inbox_drained_records", "Inbox records counted by drainers.")
        self._batches = counter("inbox_drain_batches", "Batches of inbox records drained.")
        self._set_aside = counter(
            "inbox_set_aside_records", "Inbox records that could not be read and were set aside."
        )
        self._drain_failures = counter("inbox_drain_failures", "Drain rounds that Redis failed.")
        self._redis_errors = counter("redis_errors", "Redis errors, by kind.", ("kind",))
        self._command_seconds = Histogram(
            "redis_command_duration_seconds",
            "Time of a Redis command or pipeline, by command name.",
            ("command",), namespace=NAMESPACE, registry=registry, buckets=COMMAND_BUCKETS,
        )  # fmt: skip
        self._rate_limited = counter(
            "rate_limited", "Requests refused by a rate limit, by budget.", ("budget",)
        )
        self._streams = Gauge(
            "live_streams_open", "Live dashboard streams open.",
            namespace=NAMESPACE, registry=registry, multiprocess_mode="livesum",
        )  # fmt: skip
        self._to_polling = counter(
            "live_streams_sent_to_polling",
            "Live dashboards sent to polling: the streams were full.",
        )
        # Series that exist from the start read 0 rather than missing, so rate() sees the first.
        for reason in NOT_COUNTED:
            self._not_counted.labels(reason)
        for result in ("accepted", "rejected"):
            self._batch.labels(result)
        for budget in BUDGETS:
            self._rate_limited.labels(budget)
        for kind in REDIS_ERRORS:
            self._redis_errors.labels(kind)
        # Children by label values: .labels() takes a lock and builds a key at every call.
        self._request_children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}
        self._command_children: dict[str, Histogram] = {}

    def request(self, route: str, method: str, status: int, seconds: float) -> None:
        if method not in METHODS:
            method = "other"
        key = (route, method, status)
        children = self._request_children.get(key)
        if children is None:
            children = self._request_children[key] = (
                self._requests.labels(route, method, f"{status // 100}xx"),
                self._request_seconds.labels(route, method),
            )
        children[0].inc()
        children[1].observe(seconds)

    def hit(self) -> None:
        self._hits.inc()

    def beacon(self, not_counted: str | None) -> None:
        if not_counted is None:
            self._beacons.inc()
        else:
            self._not_counted.labels(not_counted).inc()

    def batch(self, accepted: int, rejected: int) -> None:
        self._batch.labels("accepted").inc(accepted)
        self._batch.labels("rejected").inc(rejected)

    def drained(self, records: int, set_aside: int) -> None:
        self._batches.inc()
        self._drained.inc(records)
        if set_aside:
            self._set_aside.inc(set_aside)

    def drain_failed(self) -> None:
        self._drain_failures.inc()

    def command(self, name: str, seconds: float) -> None:
        child = self._command_children.get(name)
        if child is None:
            child = self._command_children[name] = self._command_seconds.labels(name)
        child.observe(seconds)

    def redis_error(self, kind: str) -> None:
        self._redis_errors.labels(kind).inc()

    def rate_limited(self, budget: str) -> None:
        self._rate_limited.labels(budget).inc()

    def stream_opened(self) -> None:
        self._streams.inc()

    def stream_closed(self) -> None:
        self._streams.dec()

    def sent_to_polling(self) -> None:
        self._to_polling.inc()
