"""Views of page-tracker's own home page."""

from page_tracker.store import calls, keys
from page_tracker.store.calls import Call


def home_view() -> Call[int]:
    """Return the Call that counts one view of the home page and reads as the new total."""
    return calls.command(int, "INCR", keys.PAGE_VIEWS)
