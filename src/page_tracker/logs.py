"""Log lines: one JSON object each, or readable text, with the id of the request they are about.

No line holds a client's IP address or User-Agent: the privacy promise covers logs too.  The
access log is written through structlog's own logger, which costs a third of a stdlib record;
every other line (the app's, granian's) goes through the stdlib and the same processors.
"""

import logging
import logging.config
import sys
from contextvars import ContextVar
from typing import Any, TextIO

import orjson
import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

ACCESS = "page_tracker.access"

# The id of the request this thread answers now; None outside requests.
REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)


def _request_id(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
    request_id = REQUEST_ID.get()
    if request_id is not None:
        event.setdefault("request_id", request_id)
    return event


def _json(value: Any, **options: Any) -> str:
    return orjson.dumps(value, default=options.get("default", str)).decode()


def _chain(form: str) -> tuple[list[Processor], Processor]:
    """Return the processors every line goes through, and the renderer that ends them."""
    shared: list[Processor] = [
        structlog.processors.add_log_level,
        _request_id,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    if form == "json":
        return [*shared, structlog.processors.format_exc_info], structlog.processors.JSONRenderer(
            serializer=_json
        )
    return shared, structlog.dev.ConsoleRenderer(colors=False)


def formatter(form: str) -> logging.Formatter:
    """Return the stdlib formatter of `form` (a logging.config factory: granian uses it too)."""
    shared, renderer = _chain(form)
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )


class _Access:
    """Where access lines go: nowhere until `configure` says."""

    logger: Any = None


_access = _Access()


def configure(form: str, level: str, stream: TextIO | None = None) -> dict[str, Any]:
    """Send every log line to `stream` (stderr) as `form` from `level` up; return the config.

    The returned logging.config dictionary is for granian, which applies it in each worker.
    """
    config: dict[str, Any] = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"page_tracker": {"()": formatter, "form": form}},
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "page_tracker",
                "stream": stream or "ext://sys.stderr",
            }
        },
        "loggers": {"_granian": {"handlers": ["console"], "level": level, "propagate": False}},
        "root": {"handlers": ["console"], "level": level},
    }
    logging.config.dictConfig(config)
    shared, renderer = _chain(form)
    _access.logger = (
        structlog.wrap_logger(
            structlog.WriteLogger(stream or sys.stderr),
            processors=[*shared, renderer],
            wrapper_class=structlog.make_filtering_bound_logger(level),
        ).bind(logger=ACCESS)
        if logging.getLevelName(level) <= logging.INFO
        else None
    )
    return config


def access(method: str, route: str, status: int, seconds: float, size: int) -> None:
    """Write the access line of a request: no path, IP or User-Agent, only the route template."""
    logger = _access.logger
    if logger is not None:
        logger.info(
            "request",
            method=method,
            route=route,
            status=status,
            duration_ms=round(seconds * 1000, 3),
            bytes=size,
        )
