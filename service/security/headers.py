"""Security headers on every response, and trust in the reverse proxies in front.

Pages set their own Content-Security-Policy and framing rules (`/embed` lets the allowed
portals frame it); everything else gets the strictest policy: nothing loads, nothing frames.
A policy without `frame-ancestors` gets `'none'` added, so no response can be framed by
accident.
"""

from __future__ import annotations

from flask import Flask, Response
from werkzeug.middleware.proxy_fix import ProxyFix

from service.settings import Config

STRICT_POLICY = "default-src 'none'; base-uri 'none'; form-action 'none'"
NO_FRAMING = "frame-ancestors 'none'"


def secure(response: Response) -> Response:
    """Add CSP, framing, sniffing and referrer rules, keeping what a route already set."""
    policy = response.headers.get("Content-Security-Policy", STRICT_POLICY)
    if "frame-ancestors" not in policy:
        policy = f"{policy}; {NO_FRAMING}"
        response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers["Content-Security-Policy"] = policy
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    return response


def init_app(app: Flask, config: Config) -> None:
    """Add the headers to every response; trust `CITEQA_PROXY_HOPS` proxies' X-Forwarded-*."""
    app.after_request(secure)
    if config.proxy_hops > 0:
        hops = config.proxy_hops
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops, x_prefix=hops)
