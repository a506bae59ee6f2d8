"""The inbox's records: what a view needs to be counted, and nothing that identifies anyone.

A record holds no IP and no User-Agent, only the keyed visitor hash.
"""

import json
import math
from datetime import UTC, datetime
from functools import lru_cache

from page_tracker.services.ingest.agents import Agent
from page_tracker.services.ingest.events import PageView
from page_tracker.services.ingest.visits import Visit

# A record is "2 <when> <visitor or -> <what>": what was viewed and by which kind of agent, as
# JSON.  Many views share their what: each worker encodes, checks and decodes it once.
VERSION = "2"
NO_VISITOR = "-"


def encode(visit: Visit) -> str:
    """Return `visit` as an inbox record."""
    view, agent = visit.view, visit.agent
    what = _what_of(view.page, view.host, view.referrer, view.source, *agent)
    return f"{VERSION} {visit.when.timestamp()!r} {visit.visitor or NO_VISITOR} {what}"


@lru_cache(maxsize=4096)
def _what_of(*fields: object) -> str:
    return json.dumps(fields, separators=(",", ":"))


def _text(value: object, *, optional: bool = True) -> bool:
    if value is None:
        return optional
    if not isinstance(value, str):
        return False
    if value.isascii():  # most text, and known at once
        return True
    try:
        value.encode()  # a lone surrogate cannot be stored
    except UnicodeEncodeError:
        return False
    return True


def decode(site: str, record: str) -> Visit:
    """Return the visit an inbox record of `site` holds; raise ValueError if it holds none."""
    if record.startswith("[1,"):
        record = _upgraded(record)
    try:
        version, stamp, visitor, what = record.split(" ", 3)
        when = float(stamp)
    except ValueError as error:
        raise ValueError(f"not an inbox record: {record[:100]!r}") from error
    if version != VERSION:
        raise ValueError(f"inbox record of unknown version {version!r}")
    if not math.isfinite(when) or not (visitor == NO_VISITOR or visitor.isalnum()):
        raise ValueError(f"inbox record with fields of the wrong kind: {record[:100]!r}")
    view, agent = _seen(site, what)
    return Visit(
        view,
        datetime.fromtimestamp(when, UTC),
        agent,
        None if visitor == NO_VISITOR else visitor,
    )


@lru_cache(maxsize=4096)
def _seen(site: str, what: str) -> tuple[PageView, Agent]:
    try:
        page, host, referrer, source, bot, browser, system, device = json.loads(what)
    except (TypeError, ValueError) as error:
        raise ValueError(f"not an inbox record: {what[:100]!r}") from error
    # Whatever was checked when the view came in, what is counted must be countable: one
    # record that cannot be stored would otherwise stop its site's inbox for good.
    if not (
        isinstance(bot, bool)
        and _text(page, optional=False)
        and all(map(_text, (host, referrer, source)))
        and all(_text(text, optional=False) for text in (browser, system, device))
    ):
        raise ValueError(f"inbox record with fields of the wrong kind: {what[:100]!r}")
    return PageView(site, host, page, referrer, source), Agent(bot, browser, system, device)


def _upgraded(record: str) -> str:
    """Return a record of version 1 (a JSON array), which an older worker may have left."""
    try:
        _, when, *what, visitor = json.loads(record)
    except (TypeError, ValueError) as error:
        raise ValueError(f"not an inbox record: {record[:100]!r}") from error
    # decode checks what it turns into: a visitor that is not text, say, fails there.
    return f"{VERSION} {when!r} {visitor or NO_VISITOR} {json.dumps(what)}"


def time_of(record: str) -> float | None:
    """Return when the view of `record` came in, or None if the record cannot tell."""
    try:
        stamp = record.split(" ", 2)[1] if record.startswith(VERSION) else json.loads(record)[1]
        when = float(stamp)
    except (IndexError, KeyError, TypeError, ValueError):
        return None
    return when if math.isfinite(when) else None
