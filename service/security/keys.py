"""API keys: the API answers only callers with a configured key or a page's widget token.

Pages get a token only when their caller may use the API already (service/security/callers.py).

Keys come from `CITEQA_API_KEYS` as `sha256:<hex>` digests or as plaintext that is hashed at
startup and never kept. A caller sends `Authorization: Bearer <key>` (what OpenAI clients send)
or `X-API-Key: <key>`; the check compares digests in constant time.

    >>> keys = parse_keys("sha256:" + digest("s3cret").hex() + ", other")
    >>> matches(keys, "s3cret"), matches(keys, "nope")
    (True, False)
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from flask import Flask, Response, g, request

from service.http.errors import error_response
from service.security import widget_token
from service.security.origins import API_PREFIXES, self_origin
from service.settings import Config

PREFIX = "sha256:"


def digest(key: str) -> bytes:
    """Return the SHA-256 digest of a key."""
    return hashlib.sha256(key.encode("utf-8")).digest()


def parse_keys(setting: str) -> tuple[bytes, ...]:
    """Return the digests of the configured keys; plaintext entries are hashed here."""
    keys = []
    for entry in (e.strip() for e in setting.split(",")):
        if not entry:
            continue
        if entry.startswith(PREFIX):
            try:
                keys.append(bytes.fromhex(entry[len(PREFIX):]))
            except ValueError as exc:
                raise ValueError("CITEQA_API_KEYS: a sha256: entry is not hex") from exc
        else:
            keys.append(digest(entry))
    return tuple(keys)


def matches(keys: tuple[bytes, ...], presented: str) -> bool:
    """Tell whether a presented key is configured, comparing every digest in constant time."""
    candidate = digest(presented)
    found = False
    for key in keys:
        found |= hmac.compare_digest(candidate, key)
    return found


def presented_key() -> str:
    """Return the key a request carries (Bearer token or X-API-Key), or ""."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.headers.get("X-API-Key", "").strip()


def caller_id(key: str) -> str:
    """Return a short, non-secret name of a key for rate limits and logs."""
    return "key-" + digest(key).hex()[:12]


SCHEMES = {"bearer": {"type": "http", "scheme": "bearer"},
           "apiKeyHeader": {"type": "apiKey", "in": "header", "name": "X-API-Key"}}


def document_keys(document: dict[str, Any], config: Config) -> dict[str, Any]:
    """State in the OpenAPI document that API operations need a key, when keys are set."""
    if not parse_keys(config.api_keys):
        return document
    document["components"]["securitySchemes"] = SCHEMES
    for path, operations in document["paths"].items():
        if path.startswith(API_PREFIXES):
            for operation in operations.values():
                operation["security"] = [{name: []} for name in SCHEMES]
    return document


def init_app(app: Flask, config: Config) -> None:
    """Require a key (or a widget token) on the API when keys are configured."""
    keys = parse_keys(config.api_keys)

    @app.before_request
    def _require_key() -> tuple[Response, int] | None:
        """Answer 401 unless the request may use the API."""
        key = presented_key()
        if key and matches(keys, key):
            g.caller = caller_id(key)
        if not keys or request.method == "OPTIONS" or not request.path.startswith(API_PREFIXES):
            return None
        if "caller" in g:
            return None
        token = request.headers.get(widget_token.HEADER, "")
        if token and widget_token.accepts(config, token, request.headers.get("Origin", ""),
                                          self_origin(config)):
            return None
        response, status = error_response(401, "send a valid API key: Authorization: Bearer <key>",
                                          "unauthorized")
        response.headers["WWW-Authenticate"] = 'Bearer realm="citeqa"'
        return response, status
