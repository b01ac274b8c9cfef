"""Locate the shared evaluation data folder."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def eval_data_dir() -> Path:
    """Return the shared data folder: `CITEQA_EVAL_DATA`, else `../shared/data` beside the repo."""
    return Path(os.environ.get("CITEQA_EVAL_DATA", ROOT.parent / "shared" / "data"))
