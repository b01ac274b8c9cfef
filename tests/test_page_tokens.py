"""With API keys set, no anonymous path yields API access (issue 13, item 1)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from flask import Flask

from index.access import PUBLIC
from index.store import StoreConfig
from service.security import user_token, widget_token
from service.web.app import create_app
from tests.support.apps import KEY, QUESTION, bearer, make_app, page_token
from tests.support.http import assert_json_error

ADMIN = "admin-key-for-page-tests"


@pytest.fixture(scope="module")
def keyed(default_index: StoreConfig) -> Flask:
    """Return an app that requires a key and does not open its chat to the public."""
    return make_app(default_index, api_keys=KEY)


def test_anonymous_visitors_get_no_token_from_any_page(keyed: Flask) -> None:
    client = keyed.test_client()
    assert page_token(client, "/") == "" and page_token(client, "/embed") == ""
    assert_json_error(client.post("/widget-token"), 401, "unauthorized")
    assert_json_error(client.post("/api/v1/answer", json=QUESTION), 401, "unauthorized")


def test_a_token_from_elsewhere_cannot_be_renewed_without_a_key(keyed: Flask) -> None:
    secret = widget_token.secret(keyed.extensions["citeqa.engine"].config)
    old = widget_token.issue(secret, "http://localhost")
    client = keyed.test_client()
    assert_json_error(client.post("/widget-token", headers={widget_token.HEADER: old}), 401,
                 "unauthorized")


def test_key_holders_get_and_renew_tokens(keyed: Flask) -> None:
    client = keyed.test_client()
    token = page_token(client, "/", **bearer(KEY))
    assert token
    assert client.post("/api/v1/answer", json=QUESTION,
                       headers={widget_token.HEADER: token}).status_code == 200
    minted = client.post("/widget-token", headers=bearer(KEY))
    assert minted.status_code == 200 and minted.get_json()["token"]


def test_tokens_bind_to_the_public_url_not_the_host_header(default_index: StoreConfig) -> None:
    app = make_app(default_index, api_keys=KEY, public_chat=True,
                   public_url="https://qa.example.org")
    client = app.test_client()
    token = page_token(client, "/", Host="127.0.0.1:8000")
    secret = widget_token.secret(app.extensions["citeqa.engine"].config)
    assert widget_token.verify(secret, token) == widget_token.PageToken("https://qa.example.org")
    assert_json_error(client.get("/", headers={"Host": "rebound.example"}), 400, "unknown_host")


def test_a_portal_user_token_earns_a_page_token(default_index: StoreConfig) -> None:
    secret = "portal-secret-" + "x" * 32
    client = make_app(default_index, api_keys=KEY, user_token_secret=secret).test_client()
    alice = jwt.encode({"groups": [], "exp": time.time() + 300}, secret, "HS256")
    forged = jwt.encode({"groups": [], "exp": time.time() + 300}, "wrong" * 8, "HS256")
    assert page_token(client, "/embed") == ""
    assert page_token(client, "/embed", **{user_token.HEADER: forged}) == ""
    assert_json_error(client.post("/widget-token", headers={user_token.HEADER: forged}), 401,
                 "unauthorized")
    minted = client.post("/widget-token", headers={user_token.HEADER: alice})
    assert minted.status_code == 200
    token = minted.get_json()["token"]
    assert client.get("/api/v1/documents",
                      headers={widget_token.HEADER: token}).status_code == 200


def test_without_a_key_pages_tell_nothing_of_collections(default_index: StoreConfig,
                                                         tmp_path: Path) -> None:
    """Issue 23, finding 9: no key, no way to tell which collections exist or what they hold."""
    shutil.copytree(default_index.data_dir, tmp_path / "data")
    app = make_app(StoreConfig(tmp_path / "data", default_index.collection), api_keys=KEY,
                   admin_keys=ADMIN)
    client = app.test_client()
    assert client.post("/api/v1/collections", json={"name": "vault"},
                       headers=bearer(ADMIN)).status_code == 201
    for page in ("/?collection={}", "/embed?collection={}", "/collections/{}/documents"):
        seen = [client.get(page.format(name)) for name in ("vault", "nowhere")]
        assert [r.status_code for r in seen] == [200, 200], page
        texts = [r.get_data(as_text=True).replace(name, "NAME")
                 for r, name in zip(seen, ("vault", "nowhere"), strict=True)]
        assert texts[0] == texts[1], page
    titles = [d.title for d in app.extensions["citeqa.engine"].documents(PUBLIC)]
    chat = client.get("/").get_data(as_text=True)
    assert titles and not [t for t in titles if t in chat]
    assert client.get("/?collection=nowhere", headers=bearer(KEY)).status_code == 404
    assert any(t in client.get("/", headers=bearer(KEY)).get_data(as_text=True) for t in titles)


def test_token_minting_is_rate_limited(default_index: StoreConfig, tmp_path: Any) -> None:
    app = create_app({"data_dir": default_index.data_dir, "api_keys": KEY,
                      "public_chat": True, "token_rate_limit": "3/minute",
                      "rate_limit_db": tmp_path / "limits.sqlite3"}, load_sync=True)
    client = app.test_client()
    token = page_token(client)
    for _ in range(2):
        assert client.post("/widget-token", headers={widget_token.HEADER: token}
                           ).status_code == 200
    assert_json_error(client.post("/widget-token", headers={widget_token.HEADER: token}), 429,
                 "rate_limited")
    assert client.get("/healthz").status_code == 200
