"""`citeqa serve`: gunicorn's web workers and an ingest worker, started and kept together.

The ingest worker is started again whenever it exits (a crash, `kill -9`); when gunicorn
exits, the worker is stopped and `serve` exits with gunicorn's status. SIGTERM, SIGINT and
SIGHUP go to gunicorn (HUP reloads its workers) and TERM/INT to the worker. Both children
die with `serve` even when it is killed outright, so nothing is left serving or writing.
"""

from __future__ import annotations

import ctypes
import logging
import signal
import subprocess
import time
from collections.abc import Sequence
from types import FrameType

RESTART_SECONDS = 1.0
POLL_SECONDS = 0.2
PR_SET_PDEATHSIG = 1
log = logging.getLogger("citeqa")


def _die_with_parent() -> None:
    """Ask Linux to end this child when its parent (`serve`) ends, however it ends."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _start(argv: Sequence[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    """Start a child that ends with this process."""
    return subprocess.Popen(list(argv), env=env, preexec_fn=_die_with_parent)


class Supervisor:
    """Gunicorn plus an ingest worker that is restarted when it stops."""

    def __init__(self, web: Sequence[str], worker: Sequence[str] | None,
                 env: dict[str, str]) -> None:
        """Remember the two command lines (`worker` None: no ingest worker)."""
        self.web_argv, self.worker_argv, self.env = web, worker, env
        self.web: subprocess.Popen[bytes] | None = None
        self.worker: subprocess.Popen[bytes] | None = None

    def run(self) -> int:
        """Start both and watch them until gunicorn exits; return its status."""
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, self._forward)
        self.web = _start(self.web_argv, self.env)
        self._start_worker()
        while (status := self.web.poll()) is None:
            if self.worker_argv and self.worker and self.worker.poll() is not None:
                log.warning("the ingest worker exited with status %s; starting it again",
                            self.worker.returncode)
                time.sleep(RESTART_SECONDS)
                self._start_worker()
            time.sleep(POLL_SECONDS)
        self._stop_worker()
        return status

    def _start_worker(self) -> None:
        """Start the ingest worker, if there is one to run."""
        if self.worker_argv is not None:
            self.worker = _start(self.worker_argv, self.env)

    def _stop_worker(self) -> None:
        """Stop the ingest worker (its job is taken again by the next one)."""
        self.worker_argv = None
        if self.worker is not None and self.worker.poll() is None:
            self.worker.terminate()
            try:
                self.worker.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.worker.kill()
                self.worker.wait()

    def _forward(self, signum: int, frame: FrameType | None) -> None:
        """Pass a stop or reload signal on to the children."""
        if self.web is not None and self.web.poll() is None:
            self.web.send_signal(signum)
        if signum != signal.SIGHUP:
            self._stop_worker()
