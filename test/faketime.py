"""A pytest plugin for runs under libfaketime (`make test-dates`): sleeps that keep working.

Those runs leave the monotonic clock alone (DONT_FAKE_MONOTONIC=1), or every timed wait on a
lock would wait for the faked offset.  Debian 12's libfaketime (0.9.10) then answers EINVAL to
the clock_nanosleep that time.sleep makes; a timed wait on an Event takes a path it leaves
alone.  The code under test is unchanged: only how a sleep waits is.
"""

import threading
import time

_never_set = threading.Event()


def _sleep(seconds: float) -> None:
    _never_set.wait(seconds)


def pytest_configure() -> None:
    """Replace time.sleep for this run's process."""
    time.sleep = _sleep
