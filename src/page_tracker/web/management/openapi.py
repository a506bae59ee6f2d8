"""The OpenAPI 3.1 document of every endpoint and every status it answers."""

from functools import cache
from typing import Any

from flask import Blueprint, Response, jsonify

from page_tracker.services import idempotency, site_figures
from page_tracker.services.counters import NAME
from page_tracker.services.ingest import events, intake
from page_tracker.web.badge_svg import STYLES
from page_tracker.web.busy import badges
from page_tracker.web.params import CALLBACK

bp = Blueprint("docs", __name__)

_ERROR = {"$ref": "#/components/responses/Error"}
_VALUE = {"type": "integer", "format": "int64"}
# The patterns, lengths and choices are the ones the code enforces, taken from it.
_NAME = {"type": "string", "pattern": f"^{NAME.pattern}$"}


def _json(description: str, properties: dict[str, Any]) -> dict[str, Any]:
    schema = {"type": "object", "properties": properties, "required": sorted(properties)}
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    return {str(code): _ERROR for code in codes}


def _params(*names: str) -> list[dict[str, Any]]:
    return [{"name": name, "in": "path", "required": True, "schema": _NAME} for name in names]


def _query(name: str, schema: dict[str, Any], *, required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "schema": schema}


# The series and the top lists of a site's figures.
_LISTS = ("series", "pages", "referrers", "sources", *site_figures.GROUPS.values())
_CALLBACK = _query("callback", {"type": "string", "pattern": f"^{CALLBACK.pattern}$"})
_TOKEN = _query("token", {"type": "string"})


def _counter_operations() -> dict[str, dict[str, Any]]:
    """Return the operations of /verb/{namespace}/{key}, keyed by verb."""
    value = _json("The counter's value", {"value": _VALUE})
    old_new = _json("The value before and after", {"old_value": _VALUE, "value": _VALUE})
    admin = [_TOKEN]
    return {
        "hit": {
            "get": {
                "summary": "Count a hit",
                "parameters": [_CALLBACK],
                "responses": {"200": value, **_errors(400, 429, 503)},
            },
            "post": {
                "summary": "Count a hit",
                "parameters": [_CALLBACK],
                "responses": {"200": value, **_errors(400, 429, 503)},
            },
        },
        "get": {
            "get": {
                "summary": "Read a counter",
                "parameters": [_CALLBACK],
                "responses": {"200": value, **_errors(400, 404, 503)},
            }
        },
        "create": {
            "get": {
                "summary": "Create a counter",
                "parameters": [_query("value", _VALUE), _CALLBACK],
                "responses": {
                    "201": {"$ref": "#/components/responses/Created"},
                    **_errors(400, 409, 429, 503),
                },
            }
        },
        "info": {
            "get": {
                "summary": "Describe a counter",
                "parameters": [_CALLBACK],
                "responses": {
                    "200": {"$ref": "#/components/responses/Info"},
                    **_errors(400, 404, 503),
                },
            }
        },
        "set": {
            "post": {
                "summary": "Set the value (admin)",
                "parameters": [_query("value", _VALUE, required=True), *admin],
                "responses": {"200": old_new, **_errors(400, 401, 403, 404, 503)},
            }
        },
        "update": {
            "post": {
                "summary": "Add a non-zero amount (admin)",
                "parameters": [_query("amount", _VALUE, required=True), *admin],
                "responses": {"200": value, **_errors(400, 401, 403, 404, 503)},
            }
        },
        "reset": {
            "post": {
                "summary": "Set the value to 0 (admin)",
                "parameters": admin,
                "responses": {"200": old_new, **_errors(400, 401, 403, 404, 503)},
            }
        },
        "delete": {
            "post": {
                "summary": "Delete the counter and its history (admin)",
                "parameters": admin,
                "responses": {
                    "200": _json("Deleted", {"deleted": {"type": "boolean"}, "old_value": _VALUE}),
                    **_errors(400, 401, 403, 404, 503),
                },
            }
        },
        "history": {
            "get": {
                "summary": "Hits and unique visitors per day",
                "parameters": [
                    _query("days", {"type": "integer", "minimum": 1}),
                    _query("tz", {"type": "string", "examples": ["Europe/Paris"]}),
                    _CALLBACK,
                ],
                "responses": {
                    "200": {"$ref": "#/components/responses/History"},
                    **_errors(400, 404, 503),
                },
            }
        },
    }


def _with_params(operations: dict[str, Any], params: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        method: {**operation, "parameters": [*params, *operation.get("parameters", [])]}
        for method, operation in operations.items()
    }


def _analytics_paths() -> dict[str, Any]:
    """Return the paths of website analytics: ingest, sites, tokens and figures."""
    site = [{"name": "name", "in": "path", "required": True, "schema": _NAME}]
    bearer: list[dict[str, list[str]]] = [{"bearerToken": []}]
    accepted = _json("Accepted; status says whether it was counted", {"status": {"type": "string"}})
    event = {
        "type": "object",
        "required": ["site", "url"],
        "properties": {
            "site": _NAME,
            "url": {"type": "string", "maxLength": events.MAX_URL},
            "referrer": {"type": "string", "maxLength": events.MAX_URL},
            "width": {"type": "integer", "minimum": 0, "maximum": events.MAX_WIDTH},
            "dnt": {"type": "boolean"},
            "ip": {"type": "string"},
            "user_agent": {"type": "string"},
            "timestamp": {"type": "number"},
        },
    }
    results = _json(
        "One result per event, in order",
        {
            "accepted": _VALUE,
            "rejected": _VALUE,
            "results": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"index": _VALUE, "status": _VALUE, "error": {"type": "string"}},
                },
            },
        },
    )
    settings = {"$ref": "#/components/responses/Site"}
    most = intake.MAX_BATCH
    range_params = [
        _query("range", {"enum": [*site_figures.RANGES, site_figures.CUSTOM]}),
        _query("from", {"type": "string", "format": "date"}),
        _query("to", {"type": "string", "format": "date"}),
        _query("tz", {"type": "string"}),
        _TOKEN,
    ]
    text = {"content": {"text/javascript": {"schema": {"type": "string"}}}}
    return {
        "/script.js": {
            "get": {
                "summary": "The tracking script",
                "responses": {
                    "200": {"description": "The script", **text},
                    "304": {"description": "Not modified"},
                },
            }
        },
        "/api/event": {
            "post": {
                "summary": "Count one page view (sent by the script)",
                "description": "202 once the view is stored in the site's inbox; it is counted "
                "within a fraction of a second, and every read of the site's "
                "figures counts what waits first.",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": event},
                        "text/plain": {"schema": event},
                    },
                },
                "responses": {"202": accepted, **_errors(400, 403, 404, 413, 429, 503)},
            }
        },
        "/p.gif": {
            "get": {
                "summary": "Count a page view from an image; answers a 1x1 GIF",
                "parameters": [
                    _query("site", _NAME, required=True),
                    _query("url", {"type": "string"}),
                    _query("ref", {"type": "string"}),
                ],
                "responses": {
                    "202": {"description": "Counted", "content": {"image/gif": {}}},
                    **_errors(400, 403, 404, 429, 503),
                },
            }
        },
        "/api/events": {
            "post": {
                "summary": f"Count up to {intake.MAX_BATCH} server-side page views",
                "security": bearer,
                "description": "With an Idempotency-Key header, a batch sent again within 24 hours "
                "is not counted again: it gets the first answer, marked "
                "Idempotent-Replayed. 409 while the first is still being counted.",
                "parameters": [
                    {
                        "name": "Idempotency-Key",
                        "in": "header",
                        "schema": {"type": "string", "pattern": f"^{idempotency.KEY.pattern}$"},
                    }
                ],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {"type": "array", "maxItems": most, "items": event}
                        }
                    },
                },
                "responses": {"202": results, **_errors(400, 401, 403, 409, 413, 429, 503)},
            }
        },
        "/api/sites": {
            "post": {
                "summary": "Register a site",
                "security": bearer,
                "responses": {"201": settings, **_errors(400, 401, 403, 409, 503)},
            },
            "get": {
                "summary": "List sites",
                "security": bearer,
                "responses": {
                    "200": _json("Names", {"sites": {"type": "array"}}),
                    **_errors(401, 403, 503),
                },
            },
        },
        "/api/sites/{name}": {
            "get": {
                "summary": "A site's settings",
                "security": bearer,
                "parameters": [*site, _TOKEN],
                "responses": {"200": settings, **_errors(400, 401, 403, 404, 503)},
            }
        },
        "/api/sites/{name}/tokens": {
            "post": {
                "summary": "Create a read or ingest token for a site",
                "security": bearer,
                "parameters": site,
                "responses": {
                    "201": _json(
                        "The token, shown only this once",
                        {
                            "id": {"type": "string"},
                            "token": {"type": "string"},
                            "scope": {"type": "string"},
                            "site": _NAME,
                        },
                    ),
                    **_errors(400, 401, 403, 404, 503),
                },
            }
        },
        "/api/tokens/{token_id}": {
            "delete": {
                "summary": "Revoke a token",
                "security": bearer,
                "parameters": [
                    {
                        "name": "token_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                    }
                ],
                "responses": {
                    "200": _json("Revoked", {"revoked": {"type": "string"}}),
                    **_errors(401, 403, 404, 503),
                },
            }
        },
        "/api/sites/{name}/stats": {
            "get": {
                "summary": "Totals, time series and top lists over a range of the site's days",
                "security": bearer,
                "parameters": [*site, *range_params],
                "responses": {
                    "200": {"$ref": "#/components/responses/Stats"},
                    **_errors(400, 401, 403, 404, 503),
                },
            }
        },
        "/api/sites/{name}/export.csv": {
            "get": {
                "summary": "The same figures as CSV: section, name, views, visitors",
                "security": bearer,
                "parameters": [*site, *range_params],
                "responses": {
                    "200": {"description": "CSV", "content": {"text/csv": {}}},
                    **_errors(400, 401, 403, 404, 503),
                },
            }
        },
    }


@cache
def document() -> dict[str, Any]:
    """Return the OpenAPI document (built once)."""
    paths: dict[str, Any] = {}
    for verb, operations in _counter_operations().items():
        paths[f"/{verb}/{{namespace}}/{{key}}"] = _with_params(
            operations, _params("namespace", "key")
        )
        paths[f"/{verb}/{{key}}"] = _with_params(operations, _params("key"))
    badge_params = [
        _query("count", {"enum": ["true", "false"]}),
        _query("style", {"enum": list(STYLES)}),
        _query("label", {"type": "string", "maxLength": badges.MAX_LABEL}),
        _query("color", {"type": "string"}),
        _query("labelColor", {"type": "string"}),
        _query("base", _VALUE),
        _query("show", {"enum": list(badges.SHOW)}),
    ]
    badge = {
        "get": {
            "summary": "An SVG badge; counts a hit unless count=false",
            "parameters": badge_params,
            "responses": {
                "200": {
                    "description": "The badge",
                    "content": {"image/svg+xml": {"schema": {"type": "string"}}},
                },
                **_errors(400, 429, 503),
            },
        }
    }
    paths["/badge/{namespace}/{key}.svg"] = _with_params(badge, _params("namespace", "key"))
    paths["/badge/{key}.svg"] = _with_params(badge, _params("key"))
    created = {"$ref": "#/components/responses/Created"}
    query_create = {
        "summary": "Create a counter from query fields (CountAPI's form)",
        "parameters": [_query("namespace", _NAME), _query("key", _NAME), _query("value", _VALUE)],
        "responses": {"201": created, **_errors(400, 409, 429, 503)},
    }
    paths["/create"] = {
        "get": query_create,
        "post": {
            "summary": "Create a counter from JSON, form or query fields; missing names are random",
            "requestBody": {
                "required": False,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": {"namespace": _NAME, "key": _NAME, "value": _VALUE},
                        }
                    }
                },
            },
            "responses": {"201": created, **_errors(400, 409, 429, 503)},
        },
    }
    paths["/stats"] = {
        "get": {
            "summary": "Server-wide figures",
            "responses": {
                "200": _json("Figures", {"counters": _VALUE, "namespaces": _VALUE, "hits": _VALUE}),
                **_errors(503),
            },
        }
    }
    paths["/import"] = {
        "post": {
            "summary": (
                "Import JSON Lines from `page-tracker export`, or CSV rows namespace,key,value"
            ),
            "security": [{"adminToken": []}],
            "parameters": [_query("replace", {"enum": ["true", "false"]})],
            "requestBody": {
                "required": True,
                "content": {
                    "application/x-ndjson": {"schema": {"type": "string"}},
                    "text/csv": {"schema": {"type": "string"}},
                },
            },
            "responses": {
                "200": _json("Summary", {"imported": _VALUE, "skipped": _VALUE}),
                **_errors(400, 401, 403, 413, 503),
            },
        }
    }
    paths.update(_analytics_paths())
    paths["/"] = {
        "get": {
            "summary": "The seed page: counts its own views",
            "responses": {
                "200": {
                    "description": "This page has been seen N times.",
                    "content": {"text/plain": {"schema": {"type": "string"}}},
                },
                "500": {"description": "Redis failed", "content": {"text/plain": {}}},
                "503": {"description": "Redis is unavailable", "content": {"text/plain": {}}},
            },
        }
    }
    status = _json("Status", {"status": {"type": "string"}})
    paths["/healthz"] = {"get": {"summary": "Liveness", "responses": {"200": status}}}
    readiness = _json(
        "Status: ready, degraded (the inbox lags; still ready) or unavailable, and each check",
        {
            "status": {"type": "string", "enum": ["ready", "degraded", "unavailable"]},
            "checks": {"type": "object", "additionalProperties": {"type": "string"}},
        },
    )
    paths["/readyz"] = {
        "get": {
            "summary": "Readiness: Redis answers, and how far counting lags",
            "responses": {"200": readiness, "503": readiness},
        }
    }
    paths["/openapi.json"] = {
        "get": {
            "summary": "This document",
            "responses": {
                "200": {"description": "OpenAPI 3.1", "content": {"application/json": {}}}
            },
        }
    }
    responses = _responses()
    for operations in paths.values():
        for operation in operations.values():
            if _CALLBACK in operation.get("parameters", []):
                operation["responses"] = _with_jsonp(operation["responses"], responses)
    return {
        "openapi": "3.1.0",
        "info": {"title": "page-tracker", "version": "1"},
        "paths": paths,
        "components": {
            "securitySchemes": {
                "adminToken": {"type": "http", "scheme": "bearer"},
                "bearerToken": {"type": "http", "scheme": "bearer"},
            },
            "responses": responses,
        },
    }


def _with_jsonp(answers: dict[str, Any], responses: dict[str, Any]) -> dict[str, Any]:
    """Return `answers` that may also come as JavaScript: a ?callback= wraps them (JSONP)."""
    script = {"application/javascript": {"schema": {"type": "string"}}}
    with_script = {}
    for status, answer in answers.items():
        resolved = responses[answer["$ref"].rsplit("/", 1)[1]] if "$ref" in answer else answer
        with_script[status] = {**resolved, "content": {**resolved["content"], **script}}
    return with_script


def _responses() -> dict[str, Any]:
    """Return the responses that several operations share."""
    return {
        "Error": _json(
            "What was wrong", {"error": {"type": "string"}, "message": {"type": "string"}}
        ),
        "Created": _json(
            "The new counter; the admin key is shown only this once",
            {"namespace": _NAME, "key": _NAME, "value": _VALUE, "admin_key": {"type": "string"}},
        ),
        "Info": _json(
            "The counter's metadata",
            {
                "namespace": _NAME,
                "key": _NAME,
                "value": _VALUE,
                "created": {"type": "string", "format": "date-time"},
                "updated": {"type": "string", "format": "date-time"},
                "expires_in": {"type": "integer"},
                "has_admin_key": {"type": "boolean"},
                "unique_visitors": {"type": "integer"},
            },
        ),
        "Site": _json(
            "A site's settings",
            {
                "name": _NAME,
                "domains": {"type": "array", "items": {"type": "string"}},
                "tz": {"type": "string"},
                "retention_days": {"type": "integer"},
                "honor_dnt": {"type": "boolean"},
                "created": {"type": "string", "format": "date-time"},
            },
        ),
        "Stats": _json(
            "A site's figures",
            {
                "site": _NAME,
                **{key: {"type": "string"} for key in ("tz", "from", "to")},
                "interval": {"enum": ["hour", "day"]},
                "totals": {"type": "object"},
                **{key: {"type": "array"} for key in _LISTS},
            },
        ),
        "History": _json(
            "Per-day figures",
            {
                "namespace": _NAME,
                "key": _NAME,
                "tz": {"type": "string"},
                "days": {"type": "array", "items": {"type": "object"}},
            },
        ),
    }


@bp.get("/openapi.json")
def openapi() -> Response:
    """Serve the OpenAPI document."""
    return jsonify(document())
