"""The management API: sites and tokens, counter import, and the OpenAPI document."""
