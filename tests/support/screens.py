"""Screenshots the browser tests take, and the copies in docs/ they refresh on request."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from tests.support.paths import ROOT

if TYPE_CHECKING:
    from playwright.sync_api import Page

DOCS = ROOT / "docs"


def shoot(page: Page, name: str, folder: Path, full_page: bool = False) -> None:
    """Screenshot the page into `folder`; with CITEQA_SCREENSHOTS=1 also refresh docs/NAME."""
    page.screenshot(path=folder / name, full_page=full_page)
    if os.environ.get("CITEQA_SCREENSHOTS") == "1":
        shutil.copy(folder / name, DOCS / name)
