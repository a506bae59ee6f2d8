"""Export and import of counters, so no count is ever stranded."""

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from redis import Redis

from page_tracker.services.counters import INT64_MAX, INT64_MIN, NAME
from page_tracker.store import counters as store
from page_tracker.store import transfer

FORMAT_VERSION = 1


class MalformedImportError(ValueError):
    """A record or row to import is malformed; `line` says where."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line


def count(redis: Redis) -> int:
    """Return how many counters there are (for progress reports)."""
    return sum(1 for _ in store.counter_names(redis))


def export_records(redis: Redis, history_days: int, now: datetime) -> Iterator[dict[str, Any]]:
    """Yield every counter with its history as a JSON-ready record."""
    days = store.history_days(now.date(), history_days + 1)
    for namespace, key in store.counter_names(redis):
        record = transfer.export_record(redis, namespace, key, days)
        if record is not None:  # expired between the scan and the read
            yield {"format": FORMAT_VERSION, **record}


def _check(line: int, namespace: object, key: object, value: object) -> int:
    for what, name in (("namespace", namespace), ("key", key)):
        if not isinstance(name, str) or not NAME.fullmatch(name):
            raise MalformedImportError(line, f"{what} {name!r} is not a valid name")
    try:
        number = int(str(value).strip())
    except ValueError:
        raise MalformedImportError(line, f"value {value!r} is not an integer") from None
    if not INT64_MIN <= number <= INT64_MAX:
        raise MalformedImportError(line, f"value {value!r} does not fit in a signed 64-bit integer")
    return number


def import_records(
    redis: Redis, records: Sequence[dict[str, Any]], *, replace: bool
) -> dict[str, int]:
    """Import records made by export_records; existing counters are kept unless `replace`."""
    for line, record in enumerate(records, start=1):
        _check(line, record.get("namespace"), record.get("key"), record.get("value"))
    imported = sum(transfer.import_record(redis, record, replace=replace) for record in records)
    return {"imported": imported, "skipped": len(records) - imported}


def import_rows(
    redis: Redis, rows: Sequence[Sequence[str]], now: datetime, retention_s: int
) -> dict[str, int]:
    """Set counters from `namespace,key,value` rows (a header row is skipped), creating them."""
    if rows and [cell.strip().lower() for cell in rows[0]] == ["namespace", "key", "value"]:
        rows = rows[1:]
    checked = []
    for line, row in enumerate(rows, start=1):
        if len(row) != 3:
            raise MalformedImportError(line, "a row must be namespace,key,value")
        namespace, key, raw = (cell.strip() for cell in row)
        checked.append((namespace, key, _check(line, namespace, key, raw)))
    for namespace, key, value in checked:
        transfer.set_value(redis, namespace, key, value, now, retention_s)
    return {"imported": len(checked), "skipped": 0}
