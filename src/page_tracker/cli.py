"""The `page-tracker` command."""

import os
from contextlib import ExitStack
from pathlib import Path

import click
import platformdirs

from page_tracker import server
from page_tracker.config import ConfigError, load_config
from page_tracker.embedded import EmbeddedRedisError, RedisServer

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
        try:
            load_config(os.environ)
        except ConfigError as error:
            raise click.ClickException(str(error)) from error
        click.echo(f"page-tracker is serving on http://{host}:{port}/")
        server.run(host, port, workers, threads)
