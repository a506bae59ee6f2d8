"""page-tracker: a self-hosted page-view tracker on Redis."""
