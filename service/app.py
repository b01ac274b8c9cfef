"""The Flask application factory."""

from __future__ import annotations

from typing import Any

from flask import Flask

from service import (
    api,
    auth,
    errors,
    feedback,
    observability,
    openai_compat,
    origins,
    outages,
    pages,
    ratelimit,
    security,
)
from service.engine import Engine
from service.settings import Config


def create_app(overrides: dict[str, Any] | None = None, load_sync: bool = False) -> Flask:
    """Build the app; the index loads in the background unless `load_sync`."""
    observability.configure_logging()
    config = Config.from_env(**(overrides or {}))
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = config.max_body_bytes
    app.json.sort_keys = False  # type: ignore[attr-defined]
    engine = Engine(config)
    app.extensions["citeqa.engine"] = engine
    errors.init_app(app)
    outages.init_app(app)
    # Order matters: the request id first, then the key check, whose caller the limiter counts.
    observability.init_app(app)
    auth.init_app(app, config)
    ratelimit.init_app(app, config)
    security.init_app(app, config)
    app.register_blueprint(api.bp)
    app.register_blueprint(openai_compat.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(feedback.bp)
    origins.init_app(app, config)
    if load_sync:
        engine.load()
    else:
        engine.load_in_background()
    return app
