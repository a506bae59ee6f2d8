"""Export and import of counters, so no count is ever stranded."""

from collections.abc import Iterator, Sequence
from datetime import date, datetime
from typing import Any

from redis import Redis

from page_tracker.services.counters import INT64_MAX, INT64_MIN, NAME, parse_integer
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
    number = parse_integer(str(value))
    if number is None:
        raise MalformedImportError(line, f"value {value!r} is not an integer")
    if not INT64_MIN <= number <= INT64_MAX:
        raise MalformedImportError(line, f"value {value!r} does not fit in a signed 64-bit integer")
    return number


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_day(iso_day: object, figures: object) -> str | None:
    try:
        date.fromisoformat(str(iso_day))
    except ValueError:
        return f"history day {iso_day!r} is not a date"
    if not isinstance(figures, dict) or not _whole(figures.get("expires_in")):
        return f"history of {iso_day} must be an object with a whole expires_in"
    hours = figures.get("hours")
    if not isinstance(hours, dict) or not all(
        str(hour).isdigit() and _whole(hits) for hour, hits in hours.items()
    ):
        return f"hours of {iso_day} must map hours to whole numbers"
    if not isinstance(figures.get("uniques") or "", str):
        return f"uniques of {iso_day} must be a string"
    return None


def _check_record(line: int, record: object) -> None:
    if not isinstance(record, dict):
        raise MalformedImportError(line, "a record must be a JSON object")
    _check(line, record.get("namespace"), record.get("key"), record.get("value"))
    for field in ("created", "expires_in", "updated"):
        if not _whole(record.get(field, 0)):
            raise MalformedImportError(line, f"{field} must be a whole number")
    for field in ("admin_hash", "uniques"):
        if not isinstance(record.get(field) or "", str):
            raise MalformedImportError(line, f"{field} must be a string")
    history = record.get("history", {})
    if not isinstance(history, dict):
        raise MalformedImportError(line, "history must map days to figures")
    for iso_day, figures in history.items():
        if (problem := _check_day(iso_day, figures)) is not None:
            raise MalformedImportError(line, problem)


def import_records(redis: Redis, records: Sequence[Any], *, replace: bool) -> dict[str, int]:
    """Import records made by export_records; existing counters are kept unless `replace`."""
    for line, record in enumerate(records, start=1):
        _check_record(line, record)
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
