"""Server-wide admin calls, allowed with the ADMIN_TOKEN: import of counters."""

import csv
import io

from flask import Blueprint, Response, request

from page_tracker.extensions import current_runtime
from page_tracker.services import transfer
from page_tracker.web import bodies, params
from page_tracker.web.answers import json_error, json_response
from page_tracker.web.endpoints import MAX_IMPORT_BYTES

bp = Blueprint("admin", __name__)


@bp.post("/import")
def import_counters() -> Response:
    """Import JSON Lines from `page-tracker export`, or CSV rows namespace,key,value."""
    # Enforced while the body is read, so a chunked body without a length is held to it too;
    # one byte more than the limit tells a body that is over it from one that just fits.
    request.max_content_length = MAX_IMPORT_BYTES + 1
    body = request.get_data()
    if len(body) > MAX_IMPORT_BYTES:
        return json_error(413, f"send at most {MAX_IMPORT_BYTES} bytes")
    text = body.decode(errors="replace")
    replace = request.args.get("replace", "false") == "true"
    runtime = current_runtime()
    try:
        if request.mimetype == "text/csv":
            rows = list(csv.reader(io.StringIO(text, newline="")))
            retention_s, _ = runtime.policy.lifetimes
            summary = transfer.import_rows(runtime.redis, rows, runtime.now, retention_s)
        else:
            records = [bodies.loads(line) for line in text.splitlines() if line.strip()]
            summary = transfer.import_records(runtime.redis, records, replace=replace)
    except transfer.MalformedImportError as error:
        params.bad_request(f"line {error.line}: {error}")
    except (bodies.BodyError, csv.Error) as error:
        params.bad_request(f"malformed import: {error}")
    return json_response(summary)
