"""One route table: every API path the app serves is in the OpenAPI document, and back."""

from __future__ import annotations

from flask import Flask

from service.http.routes import Route, documented
from service.http.schemas import Health
from service.web.app import BLUEPRINTS


def test_the_served_api_is_the_documented_api() -> None:
    app = Flask(__name__)
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    served = {(method.lower(), rule.rule) for rule in app.url_map.iter_rules()
              for method in rule.methods or () if method not in ("HEAD", "OPTIONS")}
    api = {(method, rule) for method, rule in served if rule.startswith(("/api/", "/v1/"))}
    described = {(route.method, route.rule) for route in documented(app.blueprints)}
    assert api <= described <= served
    assert ("get", "/api/v1/collections/<name>/documents/<path:document_id>") in described


def test_a_document_id_may_hold_slashes_and_other_parameters_may_not() -> None:
    route = Route("get", "/c/{name}/documents/{document_id}", "A document.", Health)
    assert route.rule == "/c/<name>/documents/<path:document_id>"
