"""Every shell block the README and the docs mark `runnable` runs as written, and succeeds."""

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from page_tracker.embedded import RedisServer
from test.docs import runnable_blocks
from test.e2e.serving import Serve, environment
from test.ports import free_port

pytestmark = pytest.mark.usefixtures("local_only")


@pytest.fixture(scope="module")
def own_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Start a Redis of the docs' own, so `site add blog` meets no other test's blog."""
    with RedisServer(tmp_path_factory.mktemp("docs"), port=free_port(), persist=False) as server:
        yield server.url


@pytest.mark.parametrize(("page", "block"), runnable_blocks(), ids=lambda value: str(value)[:40])
def test_a_runnable_block_runs(
    page: str, block: str, own_redis: str, start_server: Serve, tmp_path: Path
) -> None:
    served = start_server([], environment(own_redis))
    bin_dir = Path(sys.executable).parent
    env = {
        **environment(own_redis),
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "PAGE_TRACKER_URL": served.url,
    }
    ran = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", block],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert ran.returncode == 0, f"{page}:\n{block}\n{ran.stdout}\n{ran.stderr}"
