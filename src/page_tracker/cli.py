"""The `page-tracker` command."""

import ipaddress
import json
import os
import socket
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import IO, Any

import click
import platformdirs
from redis import Redis
from tqdm import tqdm

from page_tracker import embedded, server
from page_tracker.config import ConfigError, load_config
from page_tracker.embedded import EmbeddedRedisError
from page_tracker.extensions import system_clock
from page_tracker.services import demo, sessions, sites, transfer
from page_tracker.store.connection import UNAVAILABLE, connect

DEFAULT_DATA_DIR = platformdirs.user_data_path("page-tracker")
DEMO_DOMAIN = "demo.page-tracker.test"


def _count(envvar: str) -> dict[str, Any]:
    """Return the settings of an option that counts something: at least 1, by default 2."""
    return {"default": 2, "show_default": True, "envvar": envvar, "type": click.IntRange(min=1)}


DATA_DIR_HELP = (
    "Where the embedded Redis keeps its data, used when REDIS_URL is unset.  Commands use the "
    "server `serve` runs there, or start one for as long as they run."
)


def _data_dir_option(default: Path | None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return click.option(
        "--data-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=default,
        show_default=default is not None,
        envvar="PAGE_TRACKER_DATA_DIR",
        help=DATA_DIR_HELP,
    )


@click.group()
@_data_dir_option(DEFAULT_DATA_DIR)
@click.pass_context
def main(context: click.Context, data_dir: Path) -> None:
    """page-tracker: a self-hosted page-view tracker on Redis."""
    context.obj = data_dir


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, envvar="PAGE_TRACKER_HOST")
@click.option("--port", default=8000, show_default=True, envvar="PAGE_TRACKER_PORT")
@click.option("--workers", **_count("PAGE_TRACKER_WORKERS"), help="Worker processes.")
@click.option("--threads", **_count("PAGE_TRACKER_THREADS"), help="Request threads in each worker.")
@_data_dir_option(None)
@click.option(
    "--sign-in-link/--no-sign-in-link",
    default=None,
    help="Print a one-time admin sign-in link while no admin token exists.  "
    "[default: only when serving on loopback]",
)
@click.pass_obj
def serve(
    group_data_dir: Path,
    host: str,
    port: int,
    workers: int,
    threads: int,
    data_dir: Path | None,
    sign_in_link: bool | None,
) -> None:
    """Serve page-tracker; start an embedded Redis when REDIS_URL is not set."""
    with ExitStack() as stack:
        if "REDIS_URL" not in os.environ:
            data_dir = data_dir or group_data_dir
            # The workers inherit the environment, so they all find the embedded server.
            os.environ["REDIS_URL"] = _embedded(stack, data_dir, serving=True)
            click.echo(f"Embedded Redis keeps its data in {data_dir}")
        config = _config()
        base = f"http://{_shown(host)}:{port}"
        click.echo(f"page-tracker is serving on {base}/")
        if config["METRICS_PORT"]:
            click.echo(
                f"Metrics for Prometheus on http://{_shown(host)}:{config['METRICS_PORT']}/metrics"
            )
        # A link on a terminal is safe on loopback; elsewhere only an operator's flag prints it.
        if not config["ADMIN_TOKEN"] and (sign_in_link or (sign_in_link is None and _local(host))):
            _print_sign_in_link(config, base)
        server.run(host, port, workers, threads, config)


def _local(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _shown(host: str) -> str:
    """Return how a browser names `host`: this machine's name for a wildcard address."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:  # a name
        return host
    if address.is_unspecified:
        return socket.gethostname()
    return f"[{host}]" if address.version == 6 else host


def _print_sign_in_link(config: dict[str, Any], base: str) -> None:
    try:
        with connect(config["REDIS_URL"], config["REDIS_TIMEOUT"]) as redis:
            if sites.has_admin_token(redis):
                return
            secret = sessions.make_link(redis)
    except UNAVAILABLE as error:
        click.echo(f"No sign-in link: Redis did not answer ({error})", err=True)
        return
    click.echo(
        "No admin token exists yet. Sign in as admin with this link (it works once, within "
        f"24 hours):\n  {base}/dashboard/sign-in/{secret}"
    )


def _embedded(stack: ExitStack, data_dir: Path, *, serving: bool) -> str:
    try:
        return stack.enter_context(embedded.data_dir_server(data_dir, serving=serving))
    except EmbeddedRedisError as error:
        raise click.ClickException(str(error)) from error


def _config() -> dict[str, Any]:
    try:
        return load_config(os.environ)
    except ConfigError as error:
        raise click.ClickException(str(error)) from error


@contextmanager
def _redis() -> Iterator[tuple[Redis, dict[str, Any]]]:
    """Yield a client of the Redis that REDIS_URL names, else of the data directory's."""
    with ExitStack() as stack:
        environment = dict(os.environ)
        if "REDIS_URL" not in environment:
            data_dir = click.get_current_context().find_object(Path)
            environment["REDIS_URL"] = _embedded(stack, data_dir or DEFAULT_DATA_DIR, serving=False)
        try:
            config = load_config(environment)
        except ConfigError as error:
            raise click.ClickException(str(error)) from error
        # Bulk transfers wait longer for a reply than a web request would.
        with connect(config["REDIS_URL"], config["REDIS_TIMEOUT"] * 10) as redis:
            yield redis, config


def _progress(total: int | None, unit: str) -> tqdm:  # type: ignore[type-arg]
    # Rows done, rate and time left, on a terminal only: a pipe gets clean output.
    return tqdm(total=total, unit=unit, disable=not sys.stderr.isatty(), file=sys.stderr)


@main.command("export")
@click.option("--output", "-o", type=click.File("w"), default="-", help="Default: stdout.")
def export_command(output: IO[str]) -> None:
    """Write every counter with its history to JSON Lines (from REDIS_URL, else --data-dir)."""
    with _redis() as (redis, config), _progress(transfer.count(redis), "counters") as progress:
        for record in transfer.export_records(redis, config["HISTORY_DAYS"], system_clock()):
            output.write(json.dumps(record, separators=(",", ":")) + "\n")
            progress.update()


@main.command("import")
@click.argument("source", type=click.File("r"), default="-")
@click.option("--replace", is_flag=True, help="Overwrite counters that already exist.")
def import_command(source: IO[str], *, replace: bool) -> None:
    """Read JSON Lines written by `page-tracker export` (into REDIS_URL, else --data-dir)."""
    lines = [line for line in source if line.strip()]
    imported = skipped = 0
    with _redis() as (redis, _), _progress(len(lines), "counters") as progress:
        for number, line in enumerate(lines, start=1):
            try:
                summary = transfer.import_records(redis, [json.loads(line)], replace=replace)
            except (ValueError, KeyError, TypeError) as error:
                raise click.ClickException(f"line {number}: {error}") from error
            imported += summary["imported"]
            skipped += summary["skipped"]
            progress.update()
    click.echo(f"imported {imported} counters, skipped {skipped} that already existed", err=True)


@main.command("demo")
@click.option("--site", "site_name", default="demo", show_default=True)
@click.option("--views", "count", default=20_000, show_default=True, type=click.IntRange(1, 10**6))
def demo_command(site_name: str, count: int) -> None:
    """Fill a site (made if missing) with a month of made-up views, to try the dashboard."""
    with _redis() as (redis, _):
        now = system_clock()
        try:
            found = sites.load(redis, site_name)
        except sites.UnknownSiteError:
            try:
                found = sites.make_site(site_name, [DEMO_DOMAIN], created=int(now.timestamp()))
            except sites.SiteError as error:
                raise click.ClickException(str(error)) from error
            sites.add(redis, found)
        demo.fill(redis, found, count, now)
    click.echo(
        f"counted {count} made-up views of {site_name} over the last {demo.DAYS} days: "
        f"see /dashboard/sites/{site_name}"
    )


@main.group()
def site() -> None:
    """Register and list the sites that report page views (in REDIS_URL, else in --data-dir)."""


@site.command("add")
@click.argument("name")
@click.option(
    "--domain",
    "domains",
    multiple=True,
    required=True,
    help="A domain allowed to report; repeat for more. Subdomains are included.",
)
@click.option("--tz", default="UTC", show_default=True, help="The IANA zone of the site's days.")
@click.option("--retention-days", default=365, show_default=True, type=int)
@click.option(
    "--honor-dnt/--ignore-dnt",
    default=True,
    show_default=True,
    help="Leave out visitors who send Do-Not-Track or Global Privacy Control.",
)
def site_add(
    name: str, domains: tuple[str, ...], tz: str, retention_days: int, *, honor_dnt: bool
) -> None:
    """Register site NAME; its script tag is printed."""
    with _redis() as (redis, _):
        try:
            new = sites.make_site(
                name, list(domains), tz, retention_days, honor_dnt, int(system_clock().timestamp())
            )
            sites.add(redis, new)
        except sites.SiteError as error:
            raise click.ClickException(str(error)) from error
    click.echo(f"registered {name}; add this to its pages (with this server's address):")
    click.echo(f'<script defer src="https://YOUR-SERVER/script.js" data-site="{name}"></script>')


@site.command("list")
def site_list() -> None:
    """Print every site with its domains and time zone."""
    with _redis() as (redis, _):
        for name in sites.names(redis):
            found = sites.load(redis, name)
            click.echo(f"{name}\t{','.join(found.domains)}\t{found.tz}\t{found.retention_days}d")


@main.group()
def token() -> None:
    """Create, list and revoke API tokens (stored only as hashes)."""


@token.command("add")
@click.option("--scope", type=click.Choice(sites.SCOPES), required=True)
@click.option("--site", "site_name", default="", help="The site a read or ingest token is for.")
def token_add(scope: str, site_name: str) -> None:
    """Create a token and print it: it is shown only this once."""
    with _redis() as (redis, _):
        try:
            token_id, secret = sites.mint_token(
                redis, scope, site_name, int(system_clock().timestamp())
            )
        except sites.SiteError as error:
            raise click.ClickException(str(error)) from error
    click.echo(f"token {token_id} ({scope}{' of ' + site_name if site_name else ''}):", err=True)
    click.echo(secret)


@token.command("list")
def token_list() -> None:
    """Print every token's id, scope and site (never the token itself)."""
    with _redis() as (redis, _):
        for entry in sites.tokens(redis):
            click.echo(f"{entry['id']}\t{entry['scope']}\t{entry['site'] or '*'}")


@token.command("revoke")
@click.argument("token_id")
def token_revoke(token_id: str) -> None:
    """Revoke the token TOKEN_ID: it stops working at once."""
    with _redis() as (redis, _):
        if not sites.revoke_token(redis, token_id):
            raise click.ClickException(f"no token {token_id}")
    click.echo(f"revoked {token_id}")
