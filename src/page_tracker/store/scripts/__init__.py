"""Lua scripts, read once from their .lua files and run with EVALSHA."""

import hashlib
from collections.abc import Sequence
from importlib.resources import files
from string import Template
from typing import Any

from redis import Redis
from redis.exceptions import NoScriptError

from page_tracker.store.keys import LUA_FIELDS


def _source(name: str) -> str:
    """Return a script's text with the hash fields it names filled in from the key schema."""
    text = (files(__name__) / f"{name}.lua").read_text(encoding="utf-8")
    return Template(text).substitute(LUA_FIELDS)


# The scripts that spend a client's budget begin with spend.lua's function: a request and its
# budget are one script, so one round trip.
SPENDING = ("hit", "queue", "budget")
SOURCES = {
    name: (_source("spend") + _source(name) if name in SPENDING else _source(name))
    for name in ("hit", "queue", "budget", "create", "admin", "ingest", "take")
}
# Redis names scripts by their SHA-1; it is an identifier here, not a security measure.
SHAS = {
    name: hashlib.sha1(source.encode(), usedforsecurity=False).hexdigest()
    for name, source in SOURCES.items()
}


def run(redis: Redis, name: str, keys: Sequence[str], args: Sequence[Any]) -> Any:
    """Run script `name` by its SHA; load it first if this Redis has not seen it yet."""
    try:
        return redis.evalsha(SHAS[name], len(keys), *keys, *args)
    except NoScriptError:
        redis.script_load(SOURCES[name])
        return redis.evalsha(SHAS[name], len(keys), *keys, *args)


def load(redis: Redis, name: str) -> None:
    """Load script `name` unless this Redis has it, so a pipeline can run it by its SHA."""
    if not redis.script_exists(SHAS[name])[0]:
        redis.script_load(SOURCES[name])
