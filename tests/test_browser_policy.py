"""What the pages promise a browser: strict CSP, framing and CORS from the allow-list only,
no inline code or remote assets, origin-bound short-lived tokens, and answerable examples."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from flask import Flask
from flask.testing import FlaskClient

from index.store import StoreConfig
from service.security import widget_token
from service.settings import Config
from service.web.app import create_app
from tests.support.paths import ROOT

STATIC = ROOT / "service" / "web" / "static"
PORTAL = "https://portal.example"
FOREIGN = "https://elsewhere.example"
SELF = "http://localhost"


@pytest.fixture(scope="module")
def policy_app(default_index: StoreConfig, tmp_path_factory: pytest.TempPathFactory) -> Flask:
    """Return the app allowing one portal, with one answerable and one unanswerable example."""
    return create_app({"data_dir": default_index.data_dir,
                       "collection": default_index.collection,
                       "allowed_origins": (PORTAL,),
                       "widget_secret": "test-key-of-at-least-32-characters",
                       "feedback_db": tmp_path_factory.mktemp("fb") / "f.sqlite3",
                       "examples": ("What is the capital of Australia?",
                                    "What will Canada cease?")}, load_sync=True)


@pytest.fixture()
def web(policy_app: Flask) -> FlaskClient:
    """Return a client of the policy app."""
    return policy_app.test_client()


def config(app: Flask) -> Config:
    """Return the app's settings."""
    return app.extensions["citeqa.engine"].config  # type: ignore[no-any-return]


def directives(csp: str) -> dict[str, str]:
    """Split a Content-Security-Policy into its directives."""
    return {part.split()[0]: part.strip() for part in csp.split(";") if part.strip()}


def test_chat_page_csp_is_strict_and_not_framable_by_others(web: FlaskClient) -> None:
    resp = web.get("/")
    policy = directives(resp.headers["Content-Security-Policy"])
    assert policy["script-src"] == "script-src 'self'"
    assert policy["style-src"] == "style-src 'self'"
    assert policy["frame-ancestors"] == "frame-ancestors 'self'"
    assert "unsafe" not in resp.headers["Content-Security-Policy"]
    assert resp.headers["X-Frame-Options"] == "SAMEORIGIN"


def test_embed_may_be_framed_by_listed_portals_only(web: FlaskClient) -> None:
    resp = web.get("/embed")
    assert directives(resp.headers["Content-Security-Policy"])["frame-ancestors"] == (
        f"frame-ancestors 'self' {PORTAL}")
    assert "X-Frame-Options" not in resp.headers


@pytest.mark.parametrize("path", ["/", "/embed"])
def test_pages_have_no_inline_code_and_no_remote_assets(web: FlaskClient, path: str) -> None:
    soup = BeautifulSoup(web.get(path).get_data(as_text=True), "html.parser")
    assert all(s.get("src", "").startswith("/static/") for s in soup.find_all("script"))
    assert not soup.find_all("style") and not soup.select("[style]")
    assert not [t for t in soup.find_all(True) if any(a.startswith("on") for a in t.attrs)]
    for tag in soup.find_all(["script", "link", "img"]):
        assert not re.match(r"(https?:)?//", tag.get("src", "") or tag.get("href", ""))


def test_scripts_never_build_html_from_strings() -> None:
    for script in STATIC.glob("*.js"):
        code = script.read_text()
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(",
                     "new Function"):
            assert sink not in code, f"{script.name} uses {sink}"


def test_cors_answers_listed_origins_and_refuses_others(web: FlaskClient) -> None:
    preflight = {"Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "content-type"}
    ok = web.options("/api/v1/answer", headers={"Origin": PORTAL, **preflight})
    assert ok.status_code == 200
    assert ok.headers["Access-Control-Allow-Origin"] == PORTAL
    assert "POST" in ok.headers["Access-Control-Allow-Methods"]
    assert "Content-Type" in ok.headers["Access-Control-Allow-Headers"]
    refused = web.options("/api/v1/answer", headers={"Origin": FOREIGN, **preflight})
    assert refused.status_code == 403
    assert refused.json["error"]["code"] == "origin_not_allowed"  # type: ignore[index]
    assert "Access-Control-Allow-Origin" not in refused.headers
    answer = web.post("/api/v1/answer", json={"question": "What will Canada cease?"},
                      headers={"Origin": FOREIGN})
    assert "Access-Control-Allow-Origin" not in answer.headers
    answer = web.post("/api/v1/answer", json={"question": "What will Canada cease?"},
                      headers={"Origin": PORTAL})
    assert answer.headers["Access-Control-Allow-Origin"] == PORTAL
    assert "Origin" in answer.headers["Vary"]


def test_widget_script_may_be_loaded_by_any_page(web: FlaskClient) -> None:
    resp = web.get("/widget.js")
    assert resp.status_code == 200 and "javascript" in resp.headers["Content-Type"]
    assert resp.headers["Cross-Origin-Resource-Policy"] == "cross-origin"
    assert b"/embed" in resp.data


def token_in(page: bytes) -> str:
    """Return the token a page carries."""
    meta = BeautifulSoup(page, "html.parser").find("meta", attrs={"name": "citeqa-token"})
    assert meta is not None
    return str(meta["content"])


def test_embed_token_is_bound_to_the_allowed_portal_else_to_itself(policy_app: Flask,
                                                                   web: FlaskClient) -> None:
    key = widget_token.secret(config(policy_app))
    framed = token_in(web.get("/embed", headers={"Referer": PORTAL + "/intranet"}).data)
    assert widget_token.verify(key, framed) == widget_token.PageToken(PORTAL)
    foreign = token_in(web.get("/embed", headers={"Referer": FOREIGN + "/"}).data)
    assert widget_token.verify(key, foreign) == widget_token.PageToken(SELF)
    assert widget_token.verify(key, token_in(web.get("/").data)) == widget_token.PageToken(SELF)


def test_tokens_expire_resist_tampering_and_check_the_origin(policy_app: Flask) -> None:
    cfg = config(policy_app)
    key = widget_token.secret(cfg)
    token = widget_token.issue(key, PORTAL)
    assert widget_token.accepts(cfg, token, PORTAL, SELF)
    assert widget_token.accepts(cfg, token, SELF, SELF)  # from the /embed iframe
    assert not widget_token.accepts(cfg, token, FOREIGN, SELF)
    assert not widget_token.accepts(cfg, widget_token.issue(key, FOREIGN), FOREIGN, SELF)
    assert widget_token.verify(key, widget_token.issue(key, PORTAL, now=0)) is None
    payload, signature = token.split(".")
    forged = widget_token.issue(b"another key of thirty-two bytes!", FOREIGN).split(".")[0]
    assert widget_token.verify(key, f"{forged}.{signature}") is None
    assert widget_token.verify(key, payload) is None
    assert widget_token.verify(key, "") is None


def test_token_refresh_keeps_the_origin_and_refuses_bad_tokens(policy_app: Flask,
                                                               web: FlaskClient) -> None:
    key = widget_token.secret(config(policy_app))
    resp = web.post("/widget-token", headers={"X-Citeqa-Token": widget_token.issue(key, PORTAL)})
    assert resp.status_code == 200
    renewed = widget_token.verify(key, resp.json["token"])  # type: ignore[index]
    assert renewed == widget_token.PageToken(PORTAL)
    expired = widget_token.issue(key, PORTAL, now=0)
    resp = web.post("/widget-token", headers={"X-Citeqa-Token": expired})
    assert resp.status_code == 401
    assert resp.json["error"]["code"] == "token_expired"  # type: ignore[index]


def test_default_key_is_shared_through_the_data_folder(tmp_path: Path) -> None:
    cfg = Config.from_env(data_dir=tmp_path, widget_secret="")
    key = widget_token.secret(cfg)
    assert (tmp_path / "widget_secret").read_text().strip().encode() == key
    assert len(key) == 64 and widget_token.secret(Config.from_env(data_dir=tmp_path)) == key


def test_examples_are_only_questions_the_index_answers(web: FlaskClient) -> None:
    assert web.get("/api/v1/examples").json == {"examples": ["What will Canada cease?"]}
