"""Short-lived, origin-bound tokens for the chat page and the widget, so no page holds a key.

A page served by citeqa carries a token that says "the page embedded on ORIGIN may call the
API until EXP", signed with HMAC-SHA256. The API-key check accepts a valid token in place of a
key; a token stolen from one page works only from that origin and only for minutes.

    >>> key = b"k" * 32
    >>> token = issue(key, "https://portal.example", now=1000.0)
    >>> verify(key, token, now=1100.0)
    'https://portal.example'
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import logging
import os
import secrets
import time
from pathlib import Path

from service.settings import Config

TTL_SECONDS = 15 * 60
HEADER = "X-Citeqa-Token"
log = logging.getLogger("citeqa")


def _b64(raw: bytes) -> str:
    """Encode bytes as unpadded URL-safe base64."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    """Decode unpadded URL-safe base64."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(key: bytes, payload: str) -> str:
    """Return the HMAC-SHA256 of a payload, base64-encoded."""
    return _b64(hmac.new(key, payload.encode("ascii"), hashlib.sha256).digest())


def issue(key: bytes, origin: str, now: float | None = None, ttl: int = TTL_SECONDS) -> str:
    """Return a token that lets pages on `origin` call the API for `ttl` seconds."""
    issued = time.time() if now is None else now
    payload = _b64(json.dumps({"o": origin, "exp": int(issued + ttl)},
                              separators=(",", ":")).encode())
    return f"{payload}.{_sign(key, payload)}"


def verify(key: bytes, token: str, now: float | None = None) -> str | None:
    """Return the origin a valid, unexpired token is bound to, else None."""
    if not token.isascii():
        return None
    payload, _, signature = token.partition(".")
    if not payload or not hmac.compare_digest(signature, _sign(key, payload)):
        return None
    try:
        claims = json.loads(_unb64(payload))
        origin, expires = str(claims["o"]), float(claims["exp"])
    except (ValueError, KeyError, TypeError):
        return None
    return origin if (time.time() if now is None else now) < expires else None


def accepts(config: Config, token: str, request_origin: str, self_origin: str) -> bool:
    """Tell whether a request with this token may use the API (for the API-key check).

    The token must be valid, bound to an origin the operator still allows, and the request
    must come from that origin or from citeqa's own pages (the `/embed` iframe).
    """
    bound = verify(secret(config), token)
    if bound is None or bound not in (self_origin, *config.allowed_origins):
        return False
    return request_origin in ("", bound, self_origin)


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
