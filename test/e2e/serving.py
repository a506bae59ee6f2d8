"""Helpers to run `page-tracker serve` as a real child process."""

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import psutil
import pytest
import requests

from test.ports import free_port

STARTUP_TIMEOUT = 30.0


class ServeProcess:
    """A `page-tracker serve` child process on a free port."""

    def __init__(self, args: list[str], env: Mapping[str, str]) -> None:
        self.port = free_port()
        command = Path(sys.executable).with_name("page-tracker")
        # A file, not a pipe: nobody reads a pipe while the tests run, and an outage logs a lot;
        # a full pipe would block the server's next write, and its shutdown with it.
        self.output = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [str(command), "serve", "--port", str(self.port), *args],
            env=dict(env),
            stdout=self.output,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.url = f"http://127.0.0.1:{self.port}"

    def logged(self) -> str:
        """Return what the server has printed so far."""
        self.output.seek(0)
        return self.output.read()

    def wait_until_healthy(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"page-tracker serve exited early:\n{self.logged()}")
            try:
                if requests.get(f"{self.url}/healthz", timeout=1).ok:
                    return
            except requests.ConnectionError:
                time.sleep(0.1)
        pytest.fail("page-tracker serve did not become healthy")

    def descendants(self) -> list[psutil.Process]:
        """Return every process this server started: workers and the embedded Redis."""
        return psutil.Process(self.process.pid).children(recursive=True)

    def stop(self, how: signal.Signals = signal.SIGTERM) -> int:
        """Send `how` (SIGTERM by default), wait, and return the exit code."""
        self.process.send_signal(how)
        try:
            return self.process.wait(timeout=STARTUP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            pytest.fail(f"page-tracker serve did not stop:\n{self.logged()[-5000:]}")
        finally:
            self.output.close()


def wait_until_ready(url: str) -> None:
    """Return once `url`/readyz answers 200; fail the tests after STARTUP_TIMEOUT."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while True:
        try:
            if requests.get(f"{url}/readyz", timeout=2).ok:
                return
        except requests.ConnectionError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"{url} did not become ready in {STARTUP_TIMEOUT:.0f} s")
        time.sleep(0.5)


def serve(args: list[str], env: Mapping[str, str]) -> ServeProcess:
    """Start `page-tracker serve` and return once it answers /healthz."""
    server = ServeProcess(args, env)
    try:
        server.wait_until_healthy()
    except BaseException:
        server.stop(signal.SIGKILL)
        raise
    return server


Serve = Callable[[list[str], Mapping[str, str]], ServeProcess]


@contextmanager
def serving() -> Iterator[Serve]:
    """Yield `serve`, and stop every server it started on the way out, even after a failure."""
    started: list[ServeProcess] = []

    def start(args: list[str], env: Mapping[str, str]) -> ServeProcess:
        server = serve(args, env)
        started.append(server)
        return server

    try:
        yield start
    finally:
        for server in started:
            server.stop()  # a no-op for one the test stopped itself


def environment(redis_url: str, **settings: str) -> dict[str, str]:
    """Return this environment with `redis_url` and each setting as PAGE_TRACKER_<NAME>."""
    named = {f"PAGE_TRACKER_{name}": value for name, value in settings.items()}
    return {**os.environ, "REDIS_URL": redis_url, **named}


def environment_without_redis_url() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if key != "REDIS_URL"}
