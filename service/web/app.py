"""The Flask application factory."""

from __future__ import annotations

from typing import Any

from flask import Flask

from index.ast_lock import AST_LOCK
from service.core.engine import Engine
from service.core.library import Library
from service.http import errors
from service.ops.logs import configure_logging
from service.security import headers, keys, origins, ratelimit
from service.settings import Config
from service.web import (
    api,
    console,
    feedback,
    health,
    i18n,
    imports,
    manage,
    observe,
    openai_compat,
    outages,
    pages,
)

FORM_OVERHEAD = 65536  # multipart boundaries and the small fields beside an uploaded file

# One blueprint per surface; their order is the order of /openapi.json's paths.
BLUEPRINTS = (api.bp, manage.bp, imports.bp, console.bp, openai_compat.bp, pages.bp,
              feedback.bp, health.bp)


def create_app(overrides: dict[str, Any] | None = None, load_sync: bool = False) -> Flask:
    """Build the app; the index loads in the background unless `load_sync`."""
    configure_logging()
    config = Config.from_env(**(overrides or {}))
    engine = Engine(config)
    with AST_LOCK:  # werkzeug compiles each route, Flask's static one too, with `ast`
        app = _routed(config, engine)
    if load_sync:
        engine.load()
    else:
        engine.load_in_background()
    return app


def _routed(config: Config, engine: Engine) -> Flask:
    """Return the app over `engine` with its extensions, hooks and routes."""
    app = Flask(__name__)
    # JSON bodies are checked against CITEQA_MAX_BODY_BYTES where they are read; one byte over
    # is let through so a chunked body (which werkzeug cuts at the limit without a word) is
    # still seen to be too long: 413, not a truncated-JSON 400.
    app.config["MAX_CONTENT_LENGTH"] = max(config.max_body_bytes + 1,
                                           config.max_upload_bytes + FORM_OVERHEAD)
    app.url_map.merge_slashes = False  # `//api/…` is a 404 JSON error, not a redirect
    app.json.sort_keys = False  # type: ignore[attr-defined]
    # `/api/v1/collections/default/answer` is served as is, not redirected to `/api/v1/answer`
    app.url_map.redirect_defaults = False
    app.extensions["citeqa.engine"] = engine
    app.extensions["citeqa.library"] = Library(engine)
    errors.init_app(app)
    i18n.init_app(app)
    outages.init_app(app)
    # Order matters: the request id first, then the key check, whose caller the limiter counts.
    observe.init_app(app)
    origins.refuse_unknown_hosts(app, config)
    keys.init_app(app, config)
    ratelimit.init_app(app, config)
    headers.init_app(app, config)
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    origins.init_app(app, config)
    return app
