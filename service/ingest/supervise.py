"""`citeqa serve`: gunicorn's web workers, and an ingest worker kept running beside them.

`serve` forks a small keeper, then becomes the gunicorn master (so its process id is the
master's, as before). The keeper starts `citeqa worker` and starts it again whenever it exits
(a crash, `kill -9`). Linux ends the keeper when the master ends, however it ends, and the
worker when the keeper ends, so nothing is left writing after `serve` is gone.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from types import FrameType
from typing import NoReturn

RESTART_SECONDS = 1.0
PR_SET_PDEATHSIG = 1
log = logging.getLogger("citeqa")


def _die_with_parent() -> None:
    """Ask Linux to end this process when its parent ends."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class Keeper:
    """Run one command again each time it exits, until told to stop."""

    def __init__(self, argv: Sequence[str], env: dict[str, str]) -> None:
        """Remember the command; `run()` starts it."""
        self.argv, self.env = list(argv), env
        self.child: subprocess.Popen[bytes] | None = None
        self.stopping = False

    def run(self) -> int:
        """Keep the command running until SIGTERM or SIGINT; return 0."""
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._stop)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)  # a reload is gunicorn's business
        while not self.stopping:
            self.child = subprocess.Popen(self.argv, env=self.env,
                                          preexec_fn=_die_with_parent)
            status = self.child.wait()
            if not self.stopping:
                log.warning("the ingest worker exited with status %s; starting it again",
                            status)
                time.sleep(RESTART_SECONDS)
        return 0

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        """Stop the command and do not start it again."""
        self.stopping = True
        if self.child is not None and self.child.poll() is None:
            self.child.terminate()


def serve(web: Sequence[str], worker: Sequence[str] | None, env: dict[str, str]) -> NoReturn:
    """Fork the keeper of `worker` (None: no worker), then become `web` (gunicorn)."""
    if worker is not None:
        master = os.getpid()
        if os.fork() == 0:
            _die_with_parent()
            if os.getppid() != master:  # the master ended before we asked to end with it
                os._exit(0)
            os._exit(Keeper(worker, env).run())
    os.execve(sys.executable, list(web), env)
