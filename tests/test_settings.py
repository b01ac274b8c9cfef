"""Every setting is documented, and settings resolve from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.settings import SETTINGS, Config

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.env)
def test_setting_is_documented_in_readme(setting: object) -> None:
    env = setting.env  # type: ignore[attr-defined]
    assert f"`{env}`" in README, f"{env} is missing from the README's settings table"


def test_environment_and_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CITEQA_TOP_K", "7")
    assert Config.from_env().top_k == 7
    assert Config.from_env(top_k=3).top_k == 3
    with pytest.raises(TypeError):
        Config.from_env(nonsense=1)
    with pytest.raises(ValueError, match="3 characters"):
        Config.from_env(collection="ab")
