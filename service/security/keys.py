"""API keys with roles: readers (`CITEQA_API_KEYS`) ask, admins (`CITEQA_ADMIN_KEYS`) manage.

Keys are `sha256:<hex>` digests or plaintext that is hashed at startup and never kept; either
may end in `@coll1+coll2` to scope the key to those collections. A caller sends
`Authorization: Bearer <key>` (what OpenAI clients send) or `X-API-Key: <key>`; the check
compares digests in constant time. When reader keys are set, the API answers only callers
with a key or a page's widget token, and pages get a token only when their caller may use
the API already (service/security/callers.py). A page token carries the collections of the key
it was minted for, and `may_use` is the one scope check for both.

    >>> keys = parse_keys("sha256:" + digest("s3cret").hex() + "@hr, other")
    >>> found = find(keys, "s3cret")
    >>> found is not None and found.collections
    frozenset({'hr'})
    >>> find(keys, "nope") is None
    True
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, g, request

from service.http.errors import error_response
from service.security import user_token, widget_token
from service.security.origins import API_PREFIXES, self_origin
from service.settings import Config

PREFIX = "sha256:"
_SCOPE = re.compile(r"[a-z0-9-]+(?:\+[a-z0-9-]+)*")


@dataclass(frozen=True)
class Key:
    """A configured key: its digest, whether it manages, and the collections it may use."""

    digest: bytes
    admin: bool = False
    collections: frozenset[str] | None = None  # None: every collection


def digest(key: str) -> bytes:
    """Return the SHA-256 digest of a key."""
    return hashlib.sha256(key.encode("utf-8")).digest()


def parse_keys(setting: str, admin: bool = False,
               env: str = "CITEQA_API_KEYS") -> tuple[Key, ...]:
    """Return the configured keys; plaintext entries are hashed here."""
    keys = []
    for entry in (e.strip() for e in setting.split(",")):
        if not entry:
            continue
        secret, at, scope = entry.rpartition("@")
        if not at or not _SCOPE.fullmatch(scope):
            secret, scope = entry, ""
        allowed = frozenset(scope.split("+")) if scope else None
        if secret.startswith(PREFIX):
            try:
                keys.append(Key(bytes.fromhex(secret[len(PREFIX):]), admin, allowed))
            except ValueError as exc:
                raise ValueError(f"{env}: a sha256: entry is not hex") from exc
        else:
            keys.append(Key(digest(secret), admin, allowed))
    return tuple(keys)


def configured(config: Config) -> tuple[Key, ...]:
    """Return every configured key, admins first."""
    return configured_admins(config) + parse_keys(config.api_keys)


def configured_admins(config: Config) -> tuple[Key, ...]:
    """Return the admin keys."""
    return parse_keys(config.admin_keys, admin=True, env="CITEQA_ADMIN_KEYS")


def find(keys: tuple[Key, ...], presented: str) -> Key | None:
    """Return the configured key presented, comparing every digest in constant time."""
    candidate = digest(presented)
    found = None
    for key in keys:
        if hmac.compare_digest(candidate, key.digest) and found is None:
            found = key
    return found


def caller_scope() -> frozenset[str] | None:
    """Return the collections this request's key or page token may use (None: every one)."""
    allowed = g.get("collections")
    return allowed if isinstance(allowed, frozenset) else None


def may_use(collection: str) -> bool:
    """Tell whether this request's key or page token may use a collection (the one check)."""
    scope = caller_scope()
    return scope is None or collection in scope


def caller_key() -> Key | None:
    """Return the configured key this request presented, if any."""
    key = g.get("key")
    return key if isinstance(key, Key) else None


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
    if not configured(config):
        return document
    document["components"]["securitySchemes"] = SCHEMES
    for path, operations in document["paths"].items():
        if path.startswith(API_PREFIXES):
            for operation in operations.values():
                operation["security"] = [{name: []} for name in SCHEMES]
    return document


def init_app(app: Flask, config: Config) -> None:
    """Require a key (or a widget token) on the API when reader keys are configured."""
    keys = configured(config)
    required = bool(parse_keys(config.api_keys))

    @app.before_request
    def _require_key() -> tuple[Response, int] | None:
        """Answer 401 unless the request may use the API."""
        presented = presented_key()
        key = find(keys, presented) if presented else None
        if key is not None:
            g.caller, g.key, g.collections = caller_id(presented), key, key.collections
        if not required or request.method == "OPTIONS" \
                or not request.path.startswith(API_PREFIXES):
            return None
        if "caller" in g:
            return None
        token = request.headers.get(widget_token.HEADER, "")
        granted = widget_token.accepts(config, token, request.headers.get("Origin", ""),
                                       self_origin(config)) if token else None
        if granted is not None:
            g.collections = granted.collections  # a page token reads what its key could
            return None
        response, status = error_response(401, *refusal(config))
        response.headers["WWW-Authenticate"] = 'Bearer realm="citeqa"'
        return response, status


def refusal(config: Config) -> tuple[str, str]:
    """Say why a caller without a key or page token is refused, its portal's token first.

    The widget tells its portal to renew an expired or refused user token only if it hears so.
    """
    token = request.headers.get(user_token.HEADER, "").strip()
    if token:
        try:
            user_token.verify(config, token)
        except user_token.UserTokenError as exc:
            return str(exc), "invalid_user_token"
    return "send a valid API key: Authorization: Bearer <key>", "unauthorized"
