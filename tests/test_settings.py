"""Settings are declared once, documented from that declaration, and fail by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.doc_tables import settings_block
from service.settings import Config, documented

PAGE = (Path(__file__).resolve().parent.parent / "docs" / "settings.md").read_text()


def test_settings_page_table_is_current() -> None:
    block = f"<!-- settings:start -->\n{settings_block().strip()}\n<!-- settings:end -->"
    assert block in PAGE, "docs/settings.md's table is stale: run `make docs-tables`"


def test_every_setting_has_a_description() -> None:
    assert all(s.description for s in documented())
    assert {"CITEQA_TOP_K", "HOST", "PORT", "WORKERS", "THREADS"} <= {s.env for s in documented()}


def test_environment_and_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CITEQA_TOP_K", "7")
    assert Config.from_env().top_k == 7
    assert Config.from_env(top_k=3).top_k == 3
    with pytest.raises(TypeError):
        Config.from_env(nonsense=1)
    with pytest.raises(ValueError, match="3 characters"):
        Config.from_env(collection="ab")


def test_a_bad_value_names_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CITEQA_TOP_K", "five")
    with pytest.raises(ValueError, match=r"^CITEQA_TOP_K: .*integer"):
        Config.from_env()
    monkeypatch.delenv("CITEQA_TOP_K")
    monkeypatch.setenv("PORT", "http")
    with pytest.raises(ValueError, match=r"^PORT: "):
        Config.from_env()


@pytest.mark.parametrize("typo", ["ture", "flase", "enabled", "2"])
def test_booleans_are_strict(monkeypatch: pytest.MonkeyPatch, typo: str) -> None:
    monkeypatch.setenv("CITEQA_RATE_LIMIT_FAIL_OPEN", typo)
    with pytest.raises(ValueError, match=r"^CITEQA_RATE_LIMIT_FAIL_OPEN: "):
        Config.from_env()


def test_lists_split_on_their_separator(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CITEQA_ALLOWED_ORIGINS", "https://a.example/, https://b.example,")
    monkeypatch.setenv("CITEQA_EXAMPLES", "Who? | When?|")
    cfg = Config.from_env()
    assert cfg.allowed_origins == ("https://a.example", "https://b.example")
    assert cfg.examples == ("Who?", "When?")
