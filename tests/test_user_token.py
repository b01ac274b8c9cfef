"""Portal user tokens: only a fresh token signed for this service opens a person's groups."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask

from index.store import StoreConfig
from service.security.user_token import UserTokenError, verify
from service.settings import Config
from service.web.app import create_app

SECRET = "portal-shared-secret-of-32-bytes!"
AUDIENCE, ISSUER = "citeqa", "https://portal.example"


def rsa_pair() -> tuple[Any, str]:
    """Return a fresh RSA private key and its PEM public key."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return key, public.decode()


PRIVATE, PUBLIC = rsa_pair()
OTHER_PRIVATE, _ = rsa_pair()
CONFIG = Config.from_env(user_token_secret=SECRET, user_token_public_key=PUBLIC,
                         user_token_audience=AUDIENCE, user_token_issuer=ISSUER)


def claims(**changes: Any) -> dict[str, Any]:
    """Return valid claims (good for a day: the parameters are built when tests are collected)."""
    base = {"groups": ["hr"], "exp": int(time.time()) + 86400, "aud": AUDIENCE, "iss": ISSUER,
            "sub": "ada"}
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def edited(token: str, **changes: Any) -> str:
    """Return the token with its payload changed after signing."""
    head, payload, signature = token.split(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    data.update(changes)
    raw = base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    return f"{head}.{raw}.{signature}"


def unsigned(payload: dict[str, Any]) -> str:
    """Return an `alg: none` token."""
    def part(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(payload)}."


def test_valid_tokens_give_their_groups() -> None:
    assert verify(CONFIG, jwt.encode(claims(groups=["hr", "legal"]), SECRET, "HS256")) == (
        "hr", "legal")
    assert verify(CONFIG, jwt.encode(claims(), PRIVATE, "RS256")) == ("hr",)
    assert verify(CONFIG, jwt.encode(claims(groups=[]), SECRET, "HS256")) == ()


@pytest.mark.parametrize(("token", "why"), [
    (jwt.encode(claims(exp=int(time.time()) - 120), SECRET, "HS256"), "expired"),
    (jwt.encode(claims(exp=None), SECRET, "HS256"), "exp"),
    (jwt.encode(claims(aud="another-service"), SECRET, "HS256"), "audience"),
    (jwt.encode(claims(aud=None), SECRET, "HS256"), "aud"),
    (jwt.encode(claims(iss="https://evil.example"), SECRET, "HS256"), "issuer"),
    (jwt.encode(claims(), "not-the-shared-secret-at-all!!!!", "HS256"), "signature"),
    (jwt.encode(claims(), OTHER_PRIVATE, "RS256"), "signature"),
    (unsigned(claims()), "algorithm"),
    (edited(jwt.encode(claims(), SECRET, "HS256"), groups=["hr", "board"]), "signature"),
    (edited(jwt.encode(claims(), PRIVATE, "RS256"), exp=int(time.time()) + 10**6),
     "signature"),
    (jwt.encode(claims(groups="hr"), SECRET, "HS256"), "list of strings"),
    (jwt.encode(claims(groups=["hr<script>"]), SECRET, "HS256"), "invalid group"),
    ("not.a.jwt", "JWT"),
])
def test_bad_tokens_are_refused(token: str, why: str) -> None:
    with pytest.raises(UserTokenError, match=why):
        verify(CONFIG, token)


@pytest.mark.parametrize("odd", ["\u3000", "\xa0", "\x1f", "\u2028", " ", "\n"])
def test_group_names_are_compared_exactly_as_sent(odd: str) -> None:
    """Issue 23, finding 8: a name with odd spacing is refused, never read as another name."""
    for name in (f"hr-managers{odd}", f"{odd}hr-managers"):
        with pytest.raises(UserTokenError, match="invalid group"):
            verify(CONFIG, jwt.encode(claims(groups=[name]), SECRET, "HS256"))
    wide = "\uff48\uff52-managers"  # full-width letters: a different name, not normalised to hr
    assert verify(CONFIG, jwt.encode(claims(groups=[wide]), SECRET, "HS256")) == (wide,)


def test_the_public_key_is_not_an_hmac_secret() -> None:
    """An attacker who knows the RS256 public key cannot sign HS256 tokens with it."""
    head = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').rstrip(b"=").decode()
    body = base64.urlsafe_b64encode(json.dumps(claims()).encode()).rstrip(b"=").decode()
    mac = hmac.new(PUBLIC.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    forged = f"{head}.{body}." + base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
    with pytest.raises(UserTokenError, match="signature"):
        verify(CONFIG, forged)


def test_tokens_are_refused_when_none_are_configured() -> None:
    with pytest.raises(UserTokenError, match="not configured"):
        verify(Config.from_env(), jwt.encode(claims(), SECRET, "HS256"))


@pytest.fixture(scope="module")
def app(default_index: StoreConfig) -> Flask:
    """Return an app that verifies user tokens."""
    return create_app({"data_dir": default_index.data_dir, "collection": default_index.collection,
                       "user_token_secret": SECRET, "user_token_audience": AUDIENCE},
                      load_sync=True)


def test_the_api_refuses_a_bad_token_with_a_clear_401(app: Flask) -> None:
    client = app.test_client()
    bad = jwt.encode(claims(exp=int(time.time()) - 120), SECRET, "HS256")
    resp = client.post("/api/v1/search", json={"query": "Jordan"},
                       headers={"X-Citeqa-User": bad})
    assert resp.status_code == 401
    assert resp.get_json()["error"] == {"code": "invalid_user_token",
                                        "message": "the user token expired"}
    assert bad not in resp.get_data(as_text=True)
    good = jwt.encode(claims(iss=None), SECRET, "HS256")
    assert client.post("/api/v1/search", json={"query": "Jordan"},
                       headers={"X-Citeqa-User": good}).status_code == 200
