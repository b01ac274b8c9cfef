"""Which origins may use citeqa from a browser: CORS for the API, CSP for the pages.

The operator lists portal origins in `CITEQA_ALLOWED_ORIGINS`. Pages get a strict
Content-Security-Policy; only `/embed` may be framed by those origins, and the API answers
cross-origin requests (and their preflights) only when they come from one of them.

citeqa's own origin is `CITEQA_PUBLIC_URL`, never the request's `Host`: a request for any
other host name is refused (400), so a page served under a rebound name (DNS rebinding)
never gets a token. IP addresses and `localhost` cannot be rebound and are always answered.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from flask import Flask, Response, request

from service.http.errors import error_response
from service.settings import Config

API_PREFIXES = ("/api/", "/v1/")
ALLOWED_HEADERS = "Content-Type, Accept, Authorization, X-Citeqa-Token, X-Citeqa-User"
_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
           "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
           "form-action 'self'")


def origin_of(url: str) -> str:
    """Return the `scheme://host[:port]` origin of a URL, or "" when it has none."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def self_origin(config: Config) -> str:
    """Return citeqa's own origin: the public URL, else the (trusted) address it was asked on."""
    return origin_of(config.public_url) or origin_of(request.host_url)


def trusted_host(config: Config, host: str) -> bool:
    """Tell whether a Host header names citeqa: its public host, localhost or an IP address."""
    try:
        name = urlsplit(f"//{host}").hostname or ""
    except ValueError:
        return False
    if name == "localhost" or name == urlsplit(config.public_url).hostname:
        return True
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def is_allowed(config: Config, origin: str) -> bool:
    """Tell whether a cross-origin caller is on the operator's list."""
    return bool(origin) and origin in config.allowed_origins


def page_policy(config: Config, embeddable: bool) -> str:
    """Return the CSP of a page; only embeddable pages name the allowed portals as ancestors."""
    ancestors = " ".join(("'self'", *config.allowed_origins)) if embeddable else "'self'"
    return f"{_POLICY}; frame-ancestors {ancestors}"


def secure_page(response: Response, config: Config, embeddable: bool = False) -> Response:
    """Set the headers every HTML page carries: CSP, framing and referrer rules."""
    response.headers["Content-Security-Policy"] = page_policy(config, embeddable)
    if not embeddable:
        response.headers["X-Frame-Options"] = "SAMEORIGIN"
    response.headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Vary"] = "Referer"
    return response


def share_script(response: Response) -> Response:
    """Let any page load a script meant for embedding (`/widget.js`)."""
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def embedder_origin(config: Config) -> str:
    """Return the allowed portal that framed this page (from Referer), else our own origin."""
    referer = origin_of(request.headers.get("Referer", ""))
    return referer if is_allowed(config, referer) else self_origin(config)


def refuse_unknown_hosts(app: Flask, config: Config) -> None:
    """Answer 400 to a request for a host name that is not citeqa's (before any other check)."""

    @app.before_request
    def _refuse_unknown_host() -> tuple[Response, int] | None:
        if trusted_host(config, request.host):
            return None
        return error_response(400, "unknown host; set CITEQA_PUBLIC_URL to the address "
                                   "citeqa is served under", "unknown_host")


def init_app(app: Flask, config: Config) -> None:
    """Answer CORS for allowed origins on API routes and refuse others' preflights."""

    @app.before_request
    def _refuse_foreign_preflight() -> tuple[Response, int] | None:
        origin = request.headers.get("Origin", "")
        if (request.method == "OPTIONS" and request.path.startswith(API_PREFIXES)
                and origin and not is_allowed(config, origin) and origin != self_origin(config)):
            return error_response(403, f"origin {origin} is not allowed", "origin_not_allowed")
        return None

    @app.after_request
    def _cors(response: Response) -> Response:
        if not request.path.startswith(API_PREFIXES):
            return response
        response.vary.add("Origin")
        origin = request.headers.get("Origin", "")
        if is_allowed(config, origin):
            response.headers["Access-Control-Allow-Origin"] = origin
            if request.method == "OPTIONS":
                response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
                response.headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
                response.headers["Access-Control-Max-Age"] = "600"
        return response
