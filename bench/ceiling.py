"""The ceiling: an RSGI app that answers every request at once, served as page-tracker is."""

from typing import Any

BODY = b"ok"


async def app(scope: Any, proto: Any) -> None:
    """Answer 200 with two bytes, reading nothing."""
    proto.response_bytes(200, [("content-type", "text/plain")], BODY)
