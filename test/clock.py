"""A clock that tests set and move by hand, swapped in at the app's CLOCK."""

from datetime import datetime


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now
