"""Schemathesis against a `page-tracker serve` on a real Redis: the document tells the truth.

Every operation of /openapi.json gets a bounded number of generated requests, with the admin
token.  No answer may be a server error, nor have a status, Content-Type, header or body that
the document does not declare.
"""

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from page_tracker.embedded import RedisServer
from page_tracker.web.management.openapi import document
from test.e2e.serving import ServeProcess, serve

pytestmark = pytest.mark.slow
TOKEN = "fuzzing-admin-token"  # noqa: S105
EXAMPLES = 25
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def served(redis_server: RedisServer, outside_deployment: bool) -> Iterator[ServeProcess]:
    if outside_deployment:
        pytest.skip("starts its own server; not for an outside deployment")
    # One client sends everything here: the rate limits would answer 429 to most of it.
    server = serve([], {**os.environ, "REDIS_URL": redis_server.url,
                        "PAGE_TRACKER_ADMIN_TOKEN": TOKEN, "PAGE_TRACKER_RATE_LIMIT": "",
                        "PAGE_TRACKER_VIEW_RATE_LIMIT": "",
                        "PAGE_TRACKER_AUTH_FAILURE_LIMIT": ""})  # fmt: skip
    yield server
    server.stop()


@schemathesis.serializer("application/x-ndjson")
def _lines(_context: object, value: object) -> bytes:
    # /import takes JSON Lines: the generated value is the text of the lines.
    return value.encode() if isinstance(value, str) else json.dumps(value).encode()


# The document the served app answers at /openapi.json, built by the same code.
schema = schemathesis.openapi.from_dict(document())


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_answer_is_what_the_document_says(
    case: schemathesis.Case[Any], served: ServeProcess
) -> None:
    case.call_and_validate(
        base_url=served.url, headers={"Authorization": f"Bearer {TOKEN}"}, checks=CHECKS
    )
