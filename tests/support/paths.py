"""Where the repository, the test fixtures and the committed test data lie."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
# a training-split slice in the evaluation folder's layout (tests/data/SOURCES.md)
TEST_DATA = ROOT / "tests" / "data"
