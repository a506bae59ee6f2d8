"""Log lines: one JSON object each, or readable text, with the id of the request they are about.

No line holds a client's IP address or User-Agent: the privacy promise covers logs too.  Every
line is made by structlog's processors.  An access line, one per request, goes through two of
them alone and is written in a batch (Lines): a bound logger and a write of its own took 14%
of a hit's rate.  Every other line (the app's, granian's) goes through the stdlib, at once.
"""

import logging
import logging.config
import os
import select
import sys
import threading
import time
from collections import deque
from contextvars import ContextVar
from typing import Any, NamedTuple, TextIO

import orjson
import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

ACCESS = "page_tracker.access"
TIMESTAMP = structlog.processors.TimeStamper(fmt="iso", utc=True)

# The id of the request this thread answers now; None outside requests.
REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)


def _request_id(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
    request_id = REQUEST_ID.get()
    if request_id is not None:
        event.setdefault("request_id", request_id)
    return event


def _json(value: Any, **options: Any) -> str:
    return orjson.dumps(value, default=options.get("default", str)).decode()


def _renderer(form: str) -> Processor:
    if form == "json":
        return structlog.processors.JSONRenderer(serializer=_json)
    return structlog.dev.ConsoleRenderer(colors=False)


def formatter(form: str) -> logging.Formatter:
    """Return the stdlib formatter of `form` (a logging.config factory: granian uses it too)."""
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            structlog.stdlib.add_logger_name,
            structlog.processors.add_log_level,
            _request_id,
            TIMESTAMP,
        ],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            _renderer(form),
        ],
    )


class Lines:
    """Lines written in batches, whole, at most CHUNK bytes at a time.

    Every request writes a line, and a write of its own would cost more than making the line:
    lines wait here, at most FLUSH_S.  A batch is written in whole lines of at most PIPE_BUF
    bytes, so the batches of several workers sharing one pipe never cut into each other.
    """

    CHUNK = select.PIPE_BUF
    FLUSH_S = 0.2

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._waiting: deque[str] = deque()
        self._lock = threading.Lock()  # one writer at a time keeps lines in order
        self._flushing = False
        # A forked child has no flusher thread: it starts its own at its first line.
        os.register_at_fork(after_in_child=self._forked)

    def add(self, line: str) -> None:
        """Queue `line`; start the flusher in this process if it is not running."""
        self._waiting.append(line)
        if not self._flushing:
            self._flushing = True
            threading.Thread(target=self._flush_often, name="log-lines", daemon=True).start()

    def _forked(self) -> None:
        self._flushing = False

    def flush(self) -> None:
        """Write every line queued so far."""
        with self._lock:
            chunk: list[str] = []
            size = 0
            while self._waiting:
                line = self._waiting.popleft() + "\n"  # ASCII: its length is its bytes
                if chunk and size + len(line) > self.CHUNK:
                    self._write("".join(chunk))
                    chunk, size = [], 0
                chunk.append(line)
                size += len(line)
            if chunk:
                self._write("".join(chunk))

    def _write(self, text: str) -> None:
        self._stream.write(text)
        self._stream.flush()

    def _flush_often(self) -> None:
        while True:
            time.sleep(self.FLUSH_S)
            self.flush()


class _Access:
    """Where access lines go, and how they are rendered: nowhere until `configure` says."""

    lines: Lines | None = None
    render: Processor = structlog.processors.JSONRenderer()


_access = _Access()


def writes_access_lines() -> bool:
    """Say whether requests write access lines (LOG_LEVEL is INFO or lower)."""
    return _access.lines is not None


def flush() -> None:
    """Write the access lines that wait (a stopping process calls this)."""
    if _access.lines is not None:
        _access.lines.flush()


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
    # An access line has all its fields at hand: it needs only a time and its rendering, and
    # it goes through these two processors alone, without a bound logger around them.
    _access.lines = (
        Lines(stream or sys.stderr) if logging.getLevelName(level) <= logging.INFO else None
    )
    _access.render = _renderer(form)
    return config


def access(
    request_id: str, method: str, route: str, status: int, seconds: float, size: int
) -> None:
    """Write the access line of a request: no path, IP or User-Agent, only the route template."""
    lines = _access.lines
    if lines is not None:
        event = {
            "event": "request",
            "level": "info",
            "logger": ACCESS,
            "request_id": request_id,
            "method": method,
            "route": route,
            "status": status,
            "duration_ms": round(seconds * 1000, 3),
            "bytes": size,
            "timestamp": _now(),
        }
        lines.add(str(_access.render(None, "info", event)))


class _Second(NamedTuple):
    whole: int
    text: str


_second = _Second(-1, "")


def _now() -> str:
    """Return the time as TIMESTAMP writes it, in a fifth of its time (the second is kept)."""
    global _second  # noqa: PLW0603  # one tuple, replaced whole: threads see it consistent
    now = time.time()
    whole = int(now)
    second = _second
    if second.whole != whole:
        second = _second = _Second(whole, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)))
    return f"{second.text}.{int((now - whole) * 1_000_000):06d}Z"
