"""The `page-tracker` command."""

import json
import os
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any

import click
import platformdirs
from redis import Redis
from tqdm import tqdm

from page_tracker import server
from page_tracker.config import ConfigError, load_config
from page_tracker.embedded import EmbeddedRedisError, RedisServer
from page_tracker.extensions import system_clock
from page_tracker.services import transfer
from page_tracker.store.connection import connect

DEFAULT_DATA_DIR = platformdirs.user_data_path("page-tracker")


@click.group()
def main() -> None:
    """page-tracker: a self-hosted page-view tracker on Redis."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, envvar="PAGE_TRACKER_HOST")
@click.option("--port", default=8000, show_default=True, envvar="PAGE_TRACKER_PORT")
@click.option(
    "--workers", default=2, show_default=True, envvar="PAGE_TRACKER_WORKERS",
    type=click.IntRange(min=1), help="Worker processes.",
)  # fmt: skip
@click.option(
    "--threads", default=2, show_default=True, envvar="PAGE_TRACKER_THREADS",
    type=click.IntRange(min=1), help="Request threads in each worker.",
)  # fmt: skip
@click.option(
    "--data-dir", type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_DATA_DIR, show_default=True, envvar="PAGE_TRACKER_DATA_DIR",
    help="Where the embedded Redis keeps its data (used only when REDIS_URL is unset).",
)  # fmt: skip
def serve(host: str, port: int, workers: int, threads: int, data_dir: Path) -> None:
    """Serve page-tracker; start an embedded Redis when REDIS_URL is not set."""
    with ExitStack() as stack:
        if "REDIS_URL" not in os.environ:
            try:
                embedded = stack.enter_context(RedisServer(data_dir))
            except EmbeddedRedisError as error:
                raise click.ClickException(str(error)) from error
            # The workers inherit the environment, so they all find the embedded server.
            os.environ["REDIS_URL"] = embedded.url
            click.echo(f"Embedded Redis keeps its data in {data_dir}")
        _config()
        click.echo(f"page-tracker is serving on http://{host}:{port}/")
        server.run(host, port, workers, threads)


def _config() -> dict[str, Any]:
    try:
        return load_config(os.environ)
    except ConfigError as error:
        raise click.ClickException(str(error)) from error


def _redis() -> tuple[Redis, dict[str, Any]]:
    config = _config()
    # Bulk transfers wait longer for a reply than a web request would.
    return connect(config["REDIS_URL"], config["REDIS_TIMEOUT"] * 10), config


def _progress(total: int | None, unit: str) -> tqdm:  # type: ignore[type-arg]
    # Rows done, rate and time left, on a terminal only: a pipe gets clean output.
    return tqdm(total=total, unit=unit, disable=not sys.stderr.isatty(), file=sys.stderr)


@main.command("export")
@click.option("--output", "-o", type=click.File("w"), default="-", help="Default: stdout.")
def export_command(output: IO[str]) -> None:
    """Write every counter with its history to JSON Lines (REDIS_URL names the Redis)."""
    redis, config = _redis()
    with redis, _progress(transfer.count(redis), "counters") as progress:
        for record in transfer.export_records(redis, config["HISTORY_DAYS"], system_clock()):
            output.write(json.dumps(record, separators=(",", ":")) + "\n")
            progress.update()


@main.command("import")
@click.argument("source", type=click.File("r"), default="-")
@click.option("--replace", is_flag=True, help="Overwrite counters that already exist.")
def import_command(source: IO[str], *, replace: bool) -> None:
    """Read JSON Lines written by `page-tracker export` into the Redis REDIS_URL names."""
    redis, _ = _redis()
    lines = [line for line in source if line.strip()]
    imported = skipped = 0
    with redis, _progress(len(lines), "counters") as progress:
        for number, line in enumerate(lines, start=1):
            try:
                summary = transfer.import_records(redis, [json.loads(line)], replace=replace)
            except (ValueError, KeyError, TypeError) as error:
                raise click.ClickException(f"line {number}: {error}") from error
            imported += summary["imported"]
            skipped += summary["skipped"]
            progress.update()
    click.echo(f"imported {imported} counters, skipped {skipped} that already existed", err=True)
