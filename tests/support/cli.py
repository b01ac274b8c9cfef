"""Run the installed `citeqa` command as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

CITEQA = Path(sys.executable).with_name("citeqa")


def run_citeqa(*args: str, env: dict[str, str] | None = None,
           timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run `citeqa ARGS` offline with these extra settings; return what it did."""
    return subprocess.run([str(CITEQA), *args], capture_output=True, text=True, check=False,
                          timeout=timeout,
                          env={**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})})
