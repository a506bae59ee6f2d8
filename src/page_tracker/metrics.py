"""What page-tracker counts for Prometheus: requests, views in, the inbox, Redis, limits, streams.

Every label value comes from a fixed set (route templates, methods, status classes, reasons,
Redis command names), never from what a client sent: the number of series does not grow with
the data.

Counting is on every request's path, so it is kept to a few list and dict operations: each
thread counts in tables of its own (no lock, no lost update), which `snapshot` adds up.
prometheus_client's own metric objects, in the multiprocess mode that writes each increment
through a lock into a file, took a hit 62 more Python calls (these tables take 21) and a sixth
of its instructions.  prometheus_client still makes the families and the text format
(`families`), here and in the exporter, which adds up the snapshots each worker writes
(exporter.py).
"""

import threading
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

NAMESPACE = "page_tracker"
# Seconds: a hit takes about a millisecond, a live stream half a minute.
REQUEST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 30.0)
COMMAND_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Why a beacon or pixel was not counted as a view.
UNCOUNTED_REASONS = ("dnt", "bot", "refused_origin", "malformed", "unknown_site")
BUDGETS = ("writes", "page views", "failed tokens")
# The Redis errors an operator watches for; any other kind gets its series when it happens.
REDIS_ERRORS = ("ConnectionError", "TimeoutError", "OutOfMemoryError", "ResponseError")
UNMATCHED = "<unmatched>"

Labels = tuple[str, ...]
# Each metric's values by label values: a number, or a histogram's counts per bucket and sum.
Snapshot = dict[str, dict[Labels, Any]]


@dataclass(frozen=True)
class Spec:
    """A metric: its kind, help, label names, buckets, and the label values it starts with."""

    kind: str  # counter, gauge (summed over processes) or histogram
    help: str
    labels: Labels = ()
    buckets: tuple[float, ...] = ()
    initial: tuple[Labels, ...] = ((),)


SPECS = {
    "requests": Spec(
        "counter", "Requests answered, by route template, method and status class.",
        ("route", "method", "status"), initial=(),
    ),
    "request_duration_seconds": Spec(
        "histogram", "Time to answer a request, by route template and method.",
        ("route", "method"), REQUEST_BUCKETS, initial=(),
    ),
    "hits": Spec("counter", "Counter hits counted."),
    "beacons_accepted": Spec("counter", "Views from browsers counted as views."),
    "beacons_not_counted": Spec(
        "counter", "Views from browsers not counted as views, by reason.",
        ("reason",), initial=tuple((reason,) for reason in UNCOUNTED_REASONS),
    ),
    "batch_events": Spec(
        "counter", "Events of servers' batches, accepted or rejected.",
        ("result",), initial=(("accepted",), ("rejected",)),
    ),
    "inbox_drained_records": Spec("counter", "Inbox records counted by drainers."),
    "inbox_drain_batches": Spec("counter", "Batches of inbox records drained."),
    "inbox_set_aside_records": Spec(
        "counter", "Inbox records that could not be read and were set aside."
    ),
    "inbox_drain_failures": Spec("counter", "Drain rounds that Redis failed."),
    "redis_errors": Spec(
        "counter", "Redis errors, by kind.",
        ("kind",), initial=tuple((kind,) for kind in REDIS_ERRORS),
    ),
    "redis_command_duration_seconds": Spec(
        "histogram", "Time of a Redis command or pipeline, by command name.",
        ("command",), COMMAND_BUCKETS, initial=(),
    ),
    "rate_limited": Spec(
        "counter", "Requests refused by a rate limit, by budget.",
        ("budget",), initial=tuple((budget,) for budget in BUDGETS),
    ),
    "live_streams_open": Spec("gauge", "Live dashboard streams open."),
    "live_streams_sent_to_polling": Spec(
        "counter", "Live dashboards sent to polling: the streams were full."
    ),
}  # fmt: skip


class Unmeasured:
    """Instruments that count nothing: the app's when no metrics port is set."""

    enabled = False

    def request(self, route: str, method: str, status: int, seconds: float) -> None:
        """Count an answered request and how long it took."""

    def hit(self) -> None:
        """Count a counter hit."""

    def beacon(self, not_counted: str | None) -> None:
        """Count a view from a browser: counted, or not counted for one of UNCOUNTED_REASONS."""

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
    """Instruments that count in per-thread tables; `registry` exposes what they counted."""

    enabled = True

    def __init__(self, registry: CollectorRegistry) -> None:
        self._tables: list[Snapshot] = []
        self._local = threading.local()
        self._lock = threading.Lock()
        self.registry = registry
        registry.register(_Families(self))

    def _table(self) -> Snapshot:
        table: Snapshot | None = getattr(self._local, "table", None)
        if table is None:
            table = self._local.table = {name: {} for name in SPECS}
            with self._lock:
                self._tables.append(table)
        return table

    def _add(self, name: str, labels: Labels, amount: float = 1) -> None:
        values = self._table()[name]
        values[labels] = values.get(labels, 0) + amount

    @staticmethod
    def _observe(
        rows: dict[Labels, Any], buckets: tuple[float, ...], labels: Labels, value: float
    ) -> None:
        row = rows.get(labels)
        if row is None:  # counts per bucket, +Inf last, then the sum
            row = rows[labels] = [0] * (len(buckets) + 1) + [0.0]
        row[bisect_left(buckets, value)] += 1
        row[-1] += value

    def snapshot(self) -> Snapshot:
        """Return everything counted so far, by every thread."""
        with self._lock:
            tables = list(self._tables)
        return add_up(tables)

    def request(self, route: str, method: str, status: int, seconds: float) -> None:
        if method not in METHODS:
            method = "other"
        table = self._table()
        answered, key = table["requests"], (route, method, f"{status // 100}xx")
        answered[key] = answered.get(key, 0) + 1
        self._observe(table["request_duration_seconds"], REQUEST_BUCKETS, (route, method), seconds)

    def hit(self) -> None:
        self._add("hits", ())

    def beacon(self, not_counted: str | None) -> None:
        if not_counted is None:
            self._add("beacons_accepted", ())
        else:
            self._add("beacons_not_counted", (not_counted,))

    def batch(self, accepted: int, rejected: int) -> None:
        self._add("batch_events", ("accepted",), accepted)
        self._add("batch_events", ("rejected",), rejected)

    def drained(self, records: int, set_aside: int) -> None:
        self._add("inbox_drain_batches", ())
        self._add("inbox_drained_records", (), records)
        self._add("inbox_set_aside_records", (), set_aside)

    def drain_failed(self) -> None:
        self._add("inbox_drain_failures", ())

    def command(self, name: str, seconds: float) -> None:
        table = self._table()["redis_command_duration_seconds"]
        self._observe(table, COMMAND_BUCKETS, (name,), seconds)

    def redis_error(self, kind: str) -> None:
        self._add("redis_errors", (kind,))

    def rate_limited(self, budget: str) -> None:
        self._add("rate_limited", (budget,))

    def stream_opened(self) -> None:
        self._add("live_streams_open", ())

    def stream_closed(self) -> None:
        self._add("live_streams_open", (), -1)

    def sent_to_polling(self) -> None:
        self._add("live_streams_sent_to_polling", ())


def add_up(snapshots: Iterable[Snapshot]) -> Snapshot:
    """Return the sum of `snapshots`, metric by metric and series by series."""
    total: Snapshot = {name: {} for name in SPECS}
    for snapshot in snapshots:
        for name, series in snapshot.items():
            into = total.setdefault(name, {})
            # A copy first: another thread may add a series to its table meanwhile.
            for labels, value in list(series.items()):
                if isinstance(value, list):
                    mine = into.setdefault(labels, [0] * len(value))
                    into[labels] = [a + b for a, b in zip(mine, value, strict=True)]
                else:
                    into[labels] = into.get(labels, 0) + value
    return total


def families(snapshot: Snapshot) -> Iterator[Metric]:
    """Yield the Prometheus families of `snapshot`, with every metric's initial series."""
    for name, spec in SPECS.items():
        full, labels = f"{NAMESPACE}_{name}", list(spec.labels)
        series: dict[Labels, Any] = dict.fromkeys(spec.initial, 0)
        series |= snapshot.get(name, {})
        if spec.kind == "histogram":
            histogram = HistogramMetricFamily(full, spec.help, labels=labels)
            bounds = [*map(floatToGoString, spec.buckets), "+Inf"]
            for values, row in series.items():
                cumulative = [sum(row[: index + 1]) for index in range(len(bounds))]
                histogram.add_metric(
                    list(values), list(zip(bounds, cumulative, strict=True)), row[-1]
                )
            yield histogram
        else:
            kind = CounterMetricFamily if spec.kind == "counter" else GaugeMetricFamily
            family = kind(full, spec.help, labels=labels)
            for values, value in series.items():
                family.add_metric(list(values), value)
            yield family


class _Families(Collector):
    """What one process counted, as Prometheus families."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterable[Metric]:
        """Yield the families of everything counted so far."""
        return families(self._metrics.snapshot())
