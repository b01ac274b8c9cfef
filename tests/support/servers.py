"""Start the real processes the tests and the benchmarks drive, on free loopback ports.

`ChromaServer` (`chroma run`), `redis_server` (redis-server), `citeqa_server`
(`citeqa serve`, gunicorn and its ingest worker) and `ingest_worker` (`citeqa worker`) each
stop what they started, even when the caller fails.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Protocol, TypeVar

import redis
import requests

BIN = Path(sys.executable).parent
T = TypeVar("T")


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port on a loopback address that nothing listens on."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class ThreadedServer(Protocol):
    """What werkzeug's and http.server's servers share."""

    server_port: int

    def serve_forever(self) -> None:
        """Handle requests until shut down."""

    def shutdown(self) -> None:
        """Stop serve_forever."""


@contextmanager
def serving_in_thread(server: ThreadedServer, path: str = "") -> Iterator[str]:
    """Serve from a background thread; yield `http://127.0.0.1:PORT{path}`, then shut down."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}{path}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


def wait_until(ready: Callable[[], T | None], what: str, timeout: float = 120.0,
               proc: subprocess.Popen[bytes] | None = None) -> T:
    """Poll `ready` until it returns something true, and return that; fail if `proc` exits."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            last = found = ready()
            if found:
                return found
        except (requests.RequestException, redis.RedisError, OSError) as error:
            last = error
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited with status {proc.returncode}")
        time.sleep(0.2)
    raise TimeoutError(f"{what} was not ready after {timeout:.0f} s; last: {last!r:.500}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Terminate a process we started, killing it if it lingers."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


class ChromaServer:
    """A `chroma run` server over a data folder, which tests may kill and start again."""

    def __init__(self, path: Path, port: int | None = None) -> None:
        """Choose the folder and port; `start()` launches it."""
        self.path, self.port = path, port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> ChromaServer:
        """Launch the server and wait for its heartbeat."""
        self.proc = subprocess.Popen(
            [str(BIN / "chroma"), "run", "--path", str(self.path), "--host", "127.0.0.1",
             "--port", str(self.port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: requests.get(f"{self.url}/api/v2/heartbeat", timeout=2).ok,
                   "chroma run", 60, self.proc)
        return self

    def kill(self) -> None:
        """Kill the server abruptly, as a crash would."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def __enter__(self) -> ChromaServer:
        """Start the server."""
        return self.start()

    def __exit__(self, *_: object) -> None:
        """Stop the server."""
        if self.proc is not None:
            stop(self.proc)


@contextmanager
def redis_server() -> Iterator[str]:
    """Run a throwaway redis-server on a free port; yield its URL."""
    exe = shutil.which("redis-server") or "/usr/bin/redis-server"
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    proc = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: redis.Redis.from_url(url, socket_timeout=1).ping(), "redis-server", 30,
                   proc)
        yield url
    finally:
        stop(proc)


@contextmanager
def citeqa_server(env: dict[str, str], workers: int = 1, threads: int = 4,
                  log: IO[bytes] | None = None) -> Iterator[str]:
    """Run `citeqa serve` (gunicorn) with these settings; yield its base URL once ready."""
    port = free_port()
    proc = subprocess.Popen(
        [str(BIN / "citeqa"), "serve", "--host", "127.0.0.1", "--port", str(port),
         "--workers", str(workers), "--threads", str(threads)],
        env={**os.environ, "HF_HUB_OFFLINE": "1", **env},
        stdout=log or subprocess.DEVNULL, stderr=log or subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: requests.get(f"{base}/readyz", timeout=5).status_code == 200,
                   "citeqa serve", 180, proc)
        yield base
    finally:
        stop(proc)


def settings_env(settings: dict[str, object]) -> dict[str, str]:
    """Return the environment that gives a process these settings (as `create_app` takes)."""
    from service.settings import env_name

    return {env_name(name): str(value) for name, value in settings.items()}


@contextmanager
def ingest_worker(env: dict[str, str], log: IO[bytes] | None = None
                  ) -> Iterator[subprocess.Popen[bytes]]:
    """Run `citeqa worker` with these settings (see `settings_env`); stop it after."""
    proc = subprocess.Popen([str(BIN / "citeqa"), "worker"],
                            env={**os.environ, "HF_HUB_OFFLINE": "1", **env},
                            stdout=log or subprocess.DEVNULL, stderr=log or subprocess.DEVNULL)
    try:
        yield proc
    finally:
        stop(proc)
