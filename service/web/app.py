"""The Flask application factory."""

from __future__ import annotations

from typing import Any

from flask import Flask

from service.core.engine import Engine
from service.http import errors
from service.ops.logs import configure_logging
from service.security import headers, keys, origins, ratelimit
from service.settings import Config
from service.web import api, feedback, health, observe, openai_compat, outages, pages


def create_app(overrides: dict[str, Any] | None = None, load_sync: bool = False) -> Flask:
    """Build the app; the index loads in the background unless `load_sync`."""
    configure_logging()
    config = Config.from_env(**(overrides or {}))
    app = Flask(__name__)
    # One byte over the limit is read, so a chunked body (which werkzeug cuts at the limit
    # without a word) is still seen to be too long: 413, not a truncated-JSON 400.
    app.config["MAX_CONTENT_LENGTH"] = config.max_body_bytes + 1
    app.url_map.merge_slashes = False  # `//api/…` is a 404 JSON error, not a redirect
    app.json.sort_keys = False  # type: ignore[attr-defined]
    engine = Engine(config)
    app.extensions["citeqa.engine"] = engine
    errors.init_app(app)
    outages.init_app(app)
    # Order matters: the request id first, then the key check, whose caller the limiter counts.
    observe.init_app(app)
    origins.refuse_unknown_hosts(app, config)
    keys.init_app(app, config)
    ratelimit.init_app(app, config)
    headers.init_app(app, config)
    app.register_blueprint(api.bp)
    app.register_blueprint(openai_compat.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(feedback.bp)
    app.register_blueprint(health.bp)
    origins.init_app(app, config)
    if load_sync:
        engine.load()
    else:
        engine.load_in_background()
    return app
