"""Shared fixtures: a real index of the default corpus, built once, and the Flask app over it."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from flask import Flask
from flask.testing import FlaskClient

os.environ.setdefault("HF_HUB_OFFLINE", "1")
# The shared app serves hundreds of test questions a minute from one client; the limits have
# their own tests (tests/test_security.py), which set them explicitly.
os.environ.setdefault("CITEQA_RATE_LIMIT", "")
os.environ.setdefault("CITEQA_RATE_LIMIT_IP", "")
os.environ.setdefault("CITEQA_TOKEN_RATE_LIMIT", "")

from index.build import index_corpus
from index.store import StoreConfig
from service.core.engine import Engine
from service.settings import Config
from service.web.app import create_app
from tests.support.paths import FIXTURES, ROOT
from tests.support.servers import ChromaServer

if TYPE_CHECKING:
    from playwright.sync_api import Browser

CHROMIUM = "/usr/bin/chromium"  # Debian's: Playwright cannot download a browser here
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def default_index(tmp_path_factory: pytest.TempPathFactory) -> StoreConfig:
    """Index the shipped corpus once per session into a temporary Chroma store."""
    cfg = StoreConfig(tmp_path_factory.mktemp("index"), "citeqa")
    index_corpus(ROOT / "corpus", cfg, progress=False)
    return cfg


@pytest.fixture(scope="session")
def offline_engine() -> Callable[..., Engine]:
    """Return a function that loads an offline engine over an index, by meaning or by words."""

    def load(cfg: StoreConfig, meaning: bool = True) -> Engine:
        engine = Engine(Config.from_env(data_dir=cfg.data_dir, collection=cfg.collection,
                                        backend="extractive", meaning=meaning))
        engine.load()
        engine.retriever()
        return engine

    return load


@pytest.fixture(scope="session")
def app(default_index: StoreConfig, tmp_path_factory: pytest.TempPathFactory) -> Flask:
    """Return the app over the default index, loaded before the first request.

    Its feedback goes to a file of its own, not into the index folder other apps copy.
    """
    feedback = tmp_path_factory.mktemp("app") / "feedback.sqlite3"
    return create_app({"data_dir": default_index.data_dir, "collection": default_index.collection,
                       "corpus_dir": ROOT / "corpus", "feedback_db": feedback},
                      load_sync=True)


@pytest.fixture()
def client(app: Flask) -> FlaskClient:
    """Return a test client of the app."""
    return app.test_client()


@pytest.fixture()
def corpus_copy(tmp_path: Path) -> Iterator[Path]:
    """Return a private copy of the format fixtures to change freely."""
    target = tmp_path / "corpus"
    shutil.copytree(FIXTURES / "formats", target)
    yield target


@pytest.fixture(scope="module")
def chroma(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChromaServer]:
    """Run a real `chroma run` server for this module."""
    with ChromaServer(tmp_path_factory.mktemp("chroma-server")) as server:
        yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Launch Debian's chromium through Playwright (no downloaded browser)."""
    from playwright.sync_api import sync_playwright  # only browser tests load Playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
