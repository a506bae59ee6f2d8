"""The busy endpoints answered on the event loop: the fast app's handlers, awaited.

They make their Redis calls with the loop's client (store/pipelined.py), so a worker answers
other requests while Redis answers.  Each request is taken as the WSGI stack takes it: its
address from the trusted proxies, then observed (request id, access line, metrics).
"""

from typing import Any

from page_tracker.extensions import current_runtime
from page_tracker.store.calls import Calls
from page_tracker.web.answers import Reply
from page_tracker.web.busy.fast import FastApp, Found
from page_tracker.web.serving.observed import Observed
from page_tracker.web.serving.proxied import Proxied


class OnLoop:
    """The fast app's endpoints, answered with `calls` by coroutines of the worker's loop."""

    def __init__(
        self, fast: FastApp, observed: Observed, proxied: Proxied | None, calls: Calls
    ) -> None:
        self.fast = fast
        self.observed = observed
        self.proxied = proxied
        self.calls = calls

    def find(self, environ: dict[str, Any]) -> Found | None:
        """Return what the fast app answers of this request, None if it is not for it."""
        return self.fast.find(environ)

    async def answer(self, found: Found, environ: dict[str, Any]) -> Reply:
        """Answer a request `find` found: its status, headers and body."""
        if self.proxied is not None:
            self.proxied.fix(environ)
        runtime = current_runtime(self.fast.extensions, self.calls)
        return await self.observed.observe(
            environ, lambda: self.fast.answer(found, environ, runtime)
        )
