"""Counter badges as SVG that image proxies must fetch anew every time."""

from collections.abc import Mapping

from page_tracker.extensions import Runtime
from page_tracker.services import counter_figures
from page_tracker.web import params, ratelimit
from page_tracker.web.answers import Reply, reply
from page_tracker.web.badge_svg import STYLES, Badge, color
from page_tracker.web.busy.counters import count_hit
from page_tracker.web.busy.incoming import Incoming

NO_CACHE = "no-cache, no-store, must-revalidate, max-age=0"
SVG = "image/svg+xml; charset=utf-8"
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
    fill = color(args.get("color", "blue"), "color")
    label_fill = color(args.get("labelColor", "grey"), "labelColor")
    return label, fill, label_fill, _option(args, "style", "flat", STYLES)


async def answer_badge(runtime: Runtime, incoming: Incoming, names: Mapping[str, str]) -> Reply:
    """Draw a counter's figure; count a hit first unless `?count=false` (served by fast.py)."""
    namespace = params.name(names["namespace"], "namespace")
    key = params.name(names["key"], "key")
    args = incoming.args
    # Every option is checked before anything is counted.
    label, fill, label_fill, style = _design(args)
    show = _option(args, "show", "total", SHOW)
    count = _option(args, "count", "true", ("true", "false")) == "true"
    base = params.integer(args.get("base"), "base", required=False)
    if count:
        ip, agent = incoming.remote_addr, incoming.header("USER_AGENT") or ""
        counted, spent = await count_hit(runtime, namespace, key, ip, agent)
    else:
        counted, spent = None, None
    if show == "total" and counted is not None:
        figure = counted
    else:
        figure = await runtime.calls.run(counter_figures.figure(namespace, key, show, runtime.now))
    message = str(figure + base if show == "total" else figure)
    svg = Badge(label, message, fill, label_fill, style).svg()
    no_cache = ("Cache-Control", NO_CACHE)
    return reply(200, SVG, svg.encode(), no_cache, *ratelimit.headers(spent))
