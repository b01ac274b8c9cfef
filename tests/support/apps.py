"""Apps over the default index: with settings, with extra documents, and what their pages carry."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from index.build import index_documents
from index.documents import Document
from index.store import StoreConfig
from service.web.app import create_app

QUESTION = {"question": "Until when was Operation IMPACT extended?"}
KEY = "test-key-1"


def make_app(index: StoreConfig, **overrides: Any) -> Flask:
    """Return an app over the default index with these settings."""
    return create_app({"data_dir": index.data_dir, "collection": index.collection,
                       "rate_limit": "", "rate_limit_ip": "", **overrides}, load_sync=True)


def bearer(key: str) -> dict[str, str]:
    """Return the header that carries an API key."""
    return {"Authorization": f"Bearer {key}"}


def page_token(client: FlaskClient, path: str = "/", **headers: str) -> str:
    """Return the token a chat page carries ("" when none)."""
    page = client.get(path, headers=headers).get_data(as_text=True)
    found = re.search(r'name="citeqa-token" content="([^"]*)"', page)
    assert found, "the chat page has no token slot"
    return found.group(1)


def default_plus(default_index: StoreConfig, folder: Path, docs: list[Document]) -> StoreConfig:
    """Return a copy of the default index in `folder` with `docs` indexed beside its corpus."""
    shutil.copytree(default_index.data_dir, folder / "data")
    cfg = StoreConfig(folder / "data", default_index.collection)
    index_documents(docs, cfg, keep=lambda _: True, progress=False)
    return cfg
