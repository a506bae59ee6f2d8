"""The dashboard's admin pages: sites, tokens and counters managed with forms.

Every form is CSRF-protected, confirms what it did with a flashed message, and shows what
was wrong beside its field.
"""

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from werkzeug.exceptions import NotFound
from werkzeug.wrappers import Response as BaseResponse

from page_tracker.extensions import current_runtime
from page_tracker.services import counter_figures, counters, sites
from page_tracker.services.counters import INT64_MAX, INT64_MIN
from page_tracker.web import params
from page_tracker.web.dashboard import charts
from page_tracker.web.dashboard.setup import UTC, dress

bp = Blueprint("manage", __name__, url_prefix="/dashboard")
dress(bp)


@bp.route("/new-site", methods=["GET", "POST"])
def new_site(grant: sites.Grant) -> str | BaseResponse | tuple[str, int]:
    """Register a site from a form; then show its snippet."""
    if request.method == "GET":
        return _site_form(grant, {}, {})
    runtime, form = current_runtime(), request.form
    try:
        site = _site_from(form, form.get("name", "").strip(), int(runtime.now.timestamp()))
        sites.add(runtime.redis, site)
    except sites.SiteError as error:
        return _site_form(grant, form, {error.field or "name": str(error)}), 400
    flash(f"Site {site.name} added. Put this snippet in its pages.")
    return redirect(url_for("dashboard.snippet", name=site.name))


def _site_form(
    grant: sites.Grant, form: Any, errors: dict[str, str], site: sites.Site | None = None
) -> str:
    """Render the form that adds a site, or (given `site`) changes and deletes it."""
    return render_template(
        "dashboard/site_form.html", grant=grant, site=site, form=form, errors=errors
    )


def _site_from(form: Any, name: str, created: int) -> sites.Site:
    """Return the site a settings form describes; raise SiteError saying what is wrong."""
    retention = form.get("retention_days", "").strip()
    return sites.make_site(
        name,
        form.get("domains", "").replace(",", " ").split(),
        form.get("tz", "").strip() or "UTC",
        # Not a number: passed on as it is, for the check to say so.
        int(retention) if retention.isascii() and retention.isdigit() else retention,
        form.get("honor_dnt") == "on",
        created,
    )


def _settings_form(site: sites.Site) -> dict[str, str]:
    return {
        "domains": " ".join(site.domains),
        "tz": site.tz,
        "retention_days": str(site.retention_days),
        "honor_dnt": "on" if site.honor_dnt else "",
    }


@bp.route("/sites/<name>/settings", methods=["GET", "POST"])
def site_settings(grant: sites.Grant, site: sites.Site) -> str | BaseResponse | tuple[str, int]:
    """Change a site's domains, time zone, retention and Do-Not-Track choice; or delete it."""
    if request.method == "GET":
        return _site_form(grant, _settings_form(site), {}, site)
    try:
        sites.update(current_runtime().redis, _site_from(request.form, site.name, site.created))
    except sites.SiteError as error:
        errors = {error.field or "domains": str(error)}
        return _site_form(grant, request.form, errors, site), 400
    flash(f"Settings of {site.name} saved.")
    return redirect(url_for("dashboard.site", name=site.name))


@bp.post("/sites/<name>/delete")
def delete_site(grant: sites.Grant, site: sites.Site) -> BaseResponse | tuple[str, int]:
    """Delete a site, its figures and its tokens, once its name is typed to confirm."""
    if request.form.get("confirm", "").strip() != site.name:
        errors = {"confirm": f"Type {site.name} exactly to delete it."}
        return _site_form(grant, _settings_form(site), errors, site), 400
    deleted = sites.remove(current_runtime().redis, site.name)
    flash(f"Site {site.name} deleted, with its tokens and its figures ({deleted} keys).")
    return redirect(url_for("dashboard.home"))


@bp.get("/tokens")
def tokens(grant: sites.Grant) -> str:
    """List every token, with forms to create and revoke them."""
    return _tokens_page(grant, {}, {})


def _tokens_page(grant: sites.Grant, form: Any, errors: dict[str, str]) -> str:
    runtime = current_runtime()
    return render_template(
        "dashboard/tokens.html",
        grant=grant,
        tokens=sites.tokens(runtime.redis),
        site_names=sites.names(runtime.redis),
        form=form,
        errors=errors,
    )


@bp.post("/tokens")
def add_token(grant: sites.Grant) -> str | tuple[str, int]:
    """Create a token and show it, this once."""
    runtime, form = current_runtime(), request.form
    scope = form.get("scope", "")
    site = "" if scope == "admin" else form.get("site", "")
    try:
        token_id, secret = sites.mint_token(
            runtime.redis, scope, site, int(runtime.now.timestamp())
        )
    except sites.SiteError as error:
        return _tokens_page(grant, form, {error.field or "site": str(error)}), 400
    return render_template(
        "dashboard/token.html", grant=grant, token_id=token_id, token=secret, scope=scope, site=site
    )


@bp.post("/tokens/<token_id>/revoke")
def revoke_token(grant: sites.Grant, token_id: str) -> BaseResponse:
    """Revoke a token: it stops working at once, and whoever signed in with it is signed out."""
    if not sites.revoke_token(current_runtime().redis, token_id):
        raise NotFound(f"There is no token {token_id}.")
    flash(f"Token {token_id} revoked.")
    return redirect(url_for("manage.tokens"))


NAME_RULE = "3 to 64 characters of A-Z, a-z, 0-9, '_', '.' or '-'"


def _value(raw: str) -> int | None:
    """Return `raw` as a signed 64-bit integer, or None if it is not one."""
    number = counters.parse_integer(raw.strip() or "0")
    return number if number is not None and INT64_MIN <= number <= INT64_MAX else None


@bp.route("/new-counter", methods=["GET", "POST"])
def new_counter(grant: sites.Grant) -> str | tuple[str, int]:
    """Create a counter from a form and show its admin key, this once."""
    form = request.form
    if request.method == "GET":
        return render_template("dashboard/new_counter.html", grant=grant, form={}, errors={})
    namespace, key = form.get("namespace", "").strip(), form.get("key", "").strip()
    value = _value(form.get("value", ""))
    errors = {
        field: f"{field} must be {NAME_RULE}"
        for field, name in (("namespace", namespace), ("key", key))
        if not counters.NAME.fullmatch(name)
    }
    if value is None:
        errors["value"] = f"value must be an integer from {INT64_MIN} to {INT64_MAX}"
    if not errors and value is not None:
        runtime = current_runtime()
        try:
            admin_key = counters.create(
                runtime.redis, runtime.policy, namespace, key, value, runtime.now
            )
        except counters.ExistsError as error:
            errors["key"] = str(error)
        else:
            return render_template(
                "dashboard/counter_key.html",
                grant=grant,
                namespace=namespace,
                key=key,
                admin_key=admin_key,
            )
    page = render_template("dashboard/new_counter.html", grant=grant, form=form, errors=errors)
    return page, 400


@bp.get("/counters/<namespace>/<key>")
def counter(grant: sites.Grant, namespace: str, key: str) -> str:
    """Show a counter's history as a chart, its badge, snippets to embed it, and its forms."""
    return _counter_page(grant, namespace, key, {})


def _counter_page(grant: sites.Grant, namespace: str, key: str, errors: dict[str, str]) -> str:
    runtime = current_runtime()
    namespace, key = params.name(namespace, "namespace"), params.name(key, "key")
    try:
        info = counters.info(runtime.redis, namespace, key)
        days = counter_figures.history(
            runtime.redis, runtime.policy, namespace, key, 30, UTC, runtime.now
        )
    except counters.NotFoundError:
        raise NotFound("There is no such counter.") from None
    points = [charts.Point(d["date"][5:], d["hits"], d["unique"]) for d in days]
    return render_template(
        "dashboard/counter.html",
        grant=grant,
        info=info,
        days=days,
        chart=charts.series_chart(points, f"Hits of {namespace}/{key}", "day", what="hits"),
        badge=f"{request.host_url.rstrip('/')}/badge/{namespace}/{key}.svg",
        errors=errors,
    )


@bp.post("/counters/<namespace>/<key>/set")
def set_counter(grant: sites.Grant, namespace: str, key: str) -> BaseResponse | tuple[str, int]:
    """Set a counter to the form's value, or to 0 when the form resets it."""
    value = 0 if "reset" in request.form else _value(request.form.get("value", ""))
    if value is None:
        error = f"value must be an integer from {INT64_MIN} to {INT64_MAX}"
        return _counter_page(grant, namespace, key, {"value": error}), 400
    runtime = current_runtime()
    try:
        old, new = counters.change(
            runtime.redis,
            runtime.policy,
            namespace,
            key,
            None,
            "set",
            value,
            runtime.now,
            owner=True,
        )
    except counters.NotFoundError:
        raise NotFound("There is no such counter.") from None
    flash(f"{namespace}/{key} is now {new} (it was {old}).")
    return redirect(url_for("manage.counter", namespace=namespace, key=key))
