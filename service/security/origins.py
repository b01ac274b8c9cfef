"""Which origins may use citeqa from a browser: CORS for the API, CSP for the pages.

The operator lists portal origins in `CITEQA_ALLOWED_ORIGINS`. Pages get a strict
Content-Security-Policy; only `/embed` may be framed by those origins, and the API answers
cross-origin requests (and their preflights) only when they come from one of them.
"""

from __future__ import annotations

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


def self_origin() -> str:
    """Return the origin this request was addressed to."""
    return origin_of(request.host_url)


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
    return referer if is_allowed(config, referer) else self_origin()


def init_app(app: Flask, config: Config) -> None:
    """Answer CORS for allowed origins on API routes and refuse others' preflights."""

    @app.before_request
    def _refuse_foreign_preflight() -> tuple[Response, int] | None:
        origin = request.headers.get("Origin", "")
        if (request.method == "OPTIONS" and request.path.startswith(API_PREFIXES)
                and origin and not is_allowed(config, origin) and origin != self_origin()):
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
