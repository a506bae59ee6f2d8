"""Test times, all built from the real current time, and a clock that tests move by hand.

Redis expires keys by its own, real clock: a test pinned to a fixed date passes only on the day
it was written.  So every time a test uses starts from now, whatever day the tests run on.
"""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo


def now() -> datetime:
    """Return the current time in UTC, to the second."""
    return datetime.now(UTC).replace(microsecond=0)


def last(hour: int, minute: int = 0, zone: str = "UTC") -> datetime:
    """Return the latest moment before now whose time of day in `zone` is hour:minute, in UTC."""
    tz, wanted = ZoneInfo(zone), time(hour, minute)
    current = datetime.now(tz)
    moment = datetime.combine(current.date(), wanted, tz)
    if moment > current:
        moment = datetime.combine(current.date() - timedelta(days=1), wanted, tz)
    return moment.astimezone(UTC)


def day(moment: datetime, days: int = 0) -> str:
    """Return the ISO date `days` after the date of `moment` (in its own zone)."""
    return (moment.date() + timedelta(days=days)).isoformat()


class Clock:
    """A clock the test moves by hand; it starts at the real current time unless told."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or now()

    def __call__(self) -> datetime:
        return self.now
