"""Function calls per request, counted by cProfile in one process: a figure that does not drift.

Run with `python -m bench.calls`; a beacon's figure includes counting it from the inbox.  On a
shared machine req/s moves by a tenth within minutes; the number of Python calls a request
makes moves only when the code does.
"""

import cProfile
import pstats

from bench.request_cpu import prepared

COUNT = 1000


def main() -> None:
    """Call each request COUNT times under cProfile and print its calls per request."""
    with prepared() as (calls, drain):
        for name, call in calls:
            profile = cProfile.Profile()
            profile.enable()
            for _ in range(COUNT):
                call()
            drain()  # a beacon's work is done when it is counted
            profile.disable()
            total = pstats.Stats(profile).total_calls  # type: ignore[attr-defined]
            print(f"{name:32} {total / COUNT:6.1f} calls a request")


if __name__ == "__main__":
    main()
