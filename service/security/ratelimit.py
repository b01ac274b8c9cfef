"""Rate limits on the API, per caller (API key, else IP) and per IP, with flask-limiter.

Counters live in a SQLite file shared by one host's workers (`CITEQA_RATE_LIMIT_DB`), or in
Redis (`CITEQA_REDIS_URL`, shared by every worker and host). When the storage is unreachable,
`CITEQA_RATE_LIMIT_FAIL_OPEN` decides: serve without limits (default) or answer 503. Minting
page tokens has its own limit per IP (`CITEQA_TOKEN_RATE_LIMIT`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Flask, Response, g, request
from flask_limiter import ApplicationLimit, Limiter, RateLimitExceeded
from limits.errors import StorageError

from service.http.errors import error_response
from service.security import counters
from service.security.origins import API_PREFIXES
from service.settings import Config

# Redis calls give up quickly: a limiter must never be the slow part of a request.
REDIS_TIMEOUTS: dict[str, str | int] = {"socket_timeout": 1, "socket_connect_timeout": 1}
log = logging.getLogger("citeqa")


def client_ip() -> str:
    """Return the client's address (the proxy-corrected one when ProxyFix is on)."""
    return request.remote_addr or "unknown"


def caller() -> str:
    """Return the rate-limit key of the caller: its API key's name, else its IP."""
    return str(g.get("caller") or client_ip())


def exempt() -> bool:
    """Tell whether a request is outside the API (pages, health, metrics)."""
    return request.method == "OPTIONS" or not request.path.startswith(API_PREFIXES)


TOKEN_PATHS = frozenset({"/", "/embed", "/widget-token"})


def mints_no_token() -> bool:
    """Tell whether a request is not one that may mint a page token."""
    return request.path not in TOKEN_PATHS or request.method not in ("GET", "POST")


def init_app(app: Flask, config: Config) -> Limiter:
    """Attach the limiter; a breach is a JSON 429 with Retry-After."""
    scopes = ((config.rate_limit, caller, "caller", exempt),
              (config.rate_limit_ip, client_ip, "ip", exempt),
              (config.token_rate_limit, client_ip, "token", mints_no_token))
    limits: list[str | Callable[[], str] | ApplicationLimit] = [
        ApplicationLimit(value, key_function=key, scope=scope, exempt_when=skip)
        for value, key, scope, skip in scopes if value]
    limiter = Limiter(
        key_func=client_ip,
        app=app,
        application_limits=limits,
        storage_uri=config.redis_url or counters.uri(config.rate_limit_db),
        storage_options=REDIS_TIMEOUTS if config.redis_url else {},
        strategy="fixed-window",
        headers_enabled=True,
        swallow_errors=config.rate_limit_fail_open,
        enabled=bool(limits),
    )

    @app.errorhandler(RateLimitExceeded)
    def _breached(exc: RateLimitExceeded) -> tuple[Response, int]:
        """Answer 429 as a JSON error."""
        return error_response(429, f"rate limit of {exc.description} exceeded; retry later",
                              "rate_limited")

    def _limiter_down(exc: Exception) -> tuple[Response, int]:
        """Answer 503 when limits are enforced but their storage is down."""
        log.warning("rate-limit storage unavailable (%s)", exc.__class__.__name__)
        return error_response(503, "rate limiting is unavailable; try again shortly",
                              "rate_limiter_unavailable")

    app.register_error_handler(StorageError, _limiter_down)
    if config.redis_url:  # redis (and the cryptography it loads) only where it is the storage
        from redis.exceptions import RedisError

        app.register_error_handler(RedisError, _limiter_down)

    return limiter
