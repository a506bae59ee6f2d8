"""Counter badges as SVG that image proxies must fetch anew every time."""

from collections.abc import Mapping

from flask import Blueprint, Response, request

from page_tracker.extensions import Runtime, runtime
from page_tracker.services import counters
from page_tracker.web import params
from page_tracker.web.badge import STYLES, Badge, BadgeError, color
from page_tracker.web.counters import count_hit

bp = Blueprint("badges", __name__)

NO_CACHE = "no-cache, no-store, must-revalidate, max-age=0"
SHOW = ("total", "today", "unique")
MAX_LABEL = 64


def _option(args: Mapping[str, str], name: str, default: str, allowed: tuple[str, ...]) -> str:
    value = args.get(name, default)
    if value not in allowed:
        params.bad_request(f"{name} must be one of {', '.join(allowed)}; got {value!r}")
    return value


def _design(args: Mapping[str, str]) -> tuple[str, str, str, str]:
    label = args.get("label", "views")
    if not label or len(label) > MAX_LABEL or not label.isprintable():
        params.bad_request(f"label must be 1 to {MAX_LABEL} printable characters")
    try:
        fill = color(args.get("color", "blue"), "color")
        label_fill = color(args.get("labelColor", "grey"), "labelColor")
    except BadgeError as error:
        params.bad_request(str(error))
    return label, fill, label_fill, _option(args, "style", "flat", STYLES)


def answer_badge(
    app: Runtime, namespace: str, key: str, args: Mapping[str, str], ip: str, user_agent: str
) -> Response:
    """Return a counter's badge, counting a hit by `ip` unless `count=false` (also hotpath's)."""
    namespace, key = params.name(namespace, "namespace"), params.name(key, "key")
    # Every option is checked before anything is counted.
    label, fill, label_fill, style = _design(args)
    show = _option(args, "show", "total", SHOW)
    count = _option(args, "count", "true", ("true", "false")) == "true"
    base = params.integer(args.get("base"), "base", required=False)
    counted = count_hit(app, namespace, key, ip, user_agent) if count else None
    if show == "total" and counted is not None:
        figure = counted
    else:
        figure = counters.figure(app.redis, namespace, key, show, app.now)
    message = str(figure + base if show == "total" else figure)
    svg = Badge(label, message, fill, label_fill, style).svg()
    return Response(svg, mimetype="image/svg+xml", headers={"Cache-Control": NO_CACHE})


@bp.get("/badge/<namespace>/<key>.svg")
@bp.get("/badge/<key>.svg", defaults={"namespace": params.DEFAULT_NAMESPACE})
def badge(namespace: str, key: str) -> Response:
    """Draw a counter's figure; count a hit first unless `?count=false`."""
    return answer_badge(
        runtime(),
        namespace,
        key,
        request.args.to_dict(),
        request.remote_addr or "",
        request.headers.get("User-Agent", ""),
    )
