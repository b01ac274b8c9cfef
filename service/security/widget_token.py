"""Short-lived, origin-bound tokens for the chat page and the widget, so no page holds a key.

A page served by citeqa carries a token that says "the page embedded on ORIGIN may call the
API, on these collections, until EXP", signed by itsdangerous (an HMAC, with Flask's own
dependency, so a serving process loads no JWT or cryptography library). The API-key check
accepts a valid token in place of a key; a token stolen from one page works only from that
origin, only for minutes, and only on the collections of the key it was minted for.

    >>> key = b"k" * 32
    >>> token = issue(key, "https://portal.example", frozenset({"hr"}))
    >>> verify(key, token)
    PageToken(origin='https://portal.example', collections=frozenset({'hr'}))
"""

from __future__ import annotations

import functools
import logging
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from itsdangerous import BadData, URLSafeSerializer

from service.settings import Config

TTL_SECONDS = 15 * 60
HEADER = "X-Citeqa-Token"
SALT = "citeqa.page-token"  # keeps these signatures apart from any other use of the key
log = logging.getLogger("citeqa")


@dataclass(frozen=True)
class PageToken:
    """What a valid token grants: calls from `origin` on `collections` (None: every one)."""

    origin: str
    collections: frozenset[str] | None = None


def issue(key: bytes, origin: str, collections: frozenset[str] | None = None,
          now: float | None = None, ttl: int = TTL_SECONDS) -> str:
    """Return a token that lets pages on `origin` use `collections` for `ttl` seconds."""
    issued = time.time() if now is None else now
    scope = None if collections is None else sorted(collections)
    return str(URLSafeSerializer(key, SALT).dumps({"o": origin, "c": scope,
                                                   "exp": int(issued + ttl)}))


def verify(key: bytes, token: str) -> PageToken | None:
    """Return what a valid, unexpired token grants, else None."""
    if not token or not token.isascii():
        return None
    try:
        claims = URLSafeSerializer(key, SALT).loads(token)
    except BadData:
        return None
    if not isinstance(claims, dict) or not _is_live(claims.get("exp")):
        return None
    if "c" not in claims or not isinstance(claims.get("o"), str) or not _is_scope(claims["c"]):
        return None  # a token that does not state its collections grants nothing
    scope = claims["c"]
    return PageToken(claims["o"], None if scope is None else frozenset(scope))


def _is_live(expiry: object) -> bool:
    """Tell whether an expiry claim is a time still to come."""
    return isinstance(expiry, int) and not isinstance(expiry, bool) and expiry > time.time()


def _is_scope(scope: object) -> bool:
    """Tell whether a claim is None (every collection) or a list of collection names."""
    return scope is None or (isinstance(scope, list) and all(isinstance(c, str) for c in scope))


def accepts(config: Config, token: str, request_origin: str,
            self_origin: str) -> PageToken | None:
    """Return what a request with this token may use (for the API-key check), else None.

    The token must be valid, bound to an origin the operator still allows, and the request
    must come from that origin or from citeqa's own pages (the `/embed` iframe).
    """
    found = verify(secret(config), token)
    if found is None or found.origin not in (self_origin, *config.allowed_origins):
        return None
    return found if request_origin in ("", found.origin, self_origin) else None


@functools.lru_cache(maxsize=8)
def secret(config: Config) -> bytes:
    """Return the signing key: the setting, else a random key kept in the data folder."""
    if config.widget_secret:
        return config.widget_secret.encode()
    path = config.data_dir / "widget_secret"
    try:
        return _read_or_create(path)
    except OSError:
        log.warning("cannot keep a widget key in %s; tokens last for this process only", path)
        return _PROCESS_KEY


def _read_or_create(path: Path) -> bytes:
    """Read the key file, creating it atomically (first writer wins) when missing."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f".{path.name}.{os.getpid()}")
        draft.write_text(secrets.token_hex(32))
        draft.chmod(0o600)
        try:
            os.link(draft, path)  # atomic: a concurrent worker's key wins if it was first
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text().strip().encode()


_PROCESS_KEY = secrets.token_bytes(32)
