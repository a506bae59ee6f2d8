"""The key schema: every Redis key page-tracker uses is named here."""

# The seed app's key, kept as it is so a running seed deployment keeps its count when it
# switches to page-tracker.  It has no TTL: it is one key, and a total must never expire.
PAGE_VIEWS = "page_views"
