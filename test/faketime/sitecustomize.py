"""Loaded by every Python process of `make test-dates` (on its PYTHONPATH): sleeps that work.

Those runs leave the monotonic clock alone (DONT_FAKE_MONOTONIC=1), or every timed wait on a
lock would wait for the faked offset.  Debian 12's libfaketime (0.9.10) then answers EINVAL to
the clock_nanosleep that time.sleep makes; a timed wait on an Event takes a path it leaves
alone.  Every process needs it, the servers the tests start as much as pytest: a drain waiting
for another worker's lock sleeps.  The code under test is unchanged: only how a sleep waits is.
"""

import os
import threading
import time
from typing import SupportsIndex

_never_set = threading.Event()


def _sleep(seconds: float | SupportsIndex) -> None:
    _never_set.wait(float(seconds))


if "FAKETIME" in os.environ:
    time.sleep = _sleep
