"""Liveness, readiness and the OpenAPI document."""

from __future__ import annotations

from flask import Response, current_app, jsonify

from service.http.openapi import spec
from service.http.openapi_limits import with_limits
from service.http.routes import DocumentedBlueprint, Route, documented
from service.http.schemas import ErrorResponse, Health
from service.security.keys import document_keys
from service.web.context import config, engine

bp = DocumentedBlueprint("health", __name__)


@bp.operation(Route("get", "/healthz", "Liveness: the process answers.", Health))
def healthz() -> Response:
    """Report that the process is alive."""
    return jsonify(Health(status="ok").model_dump())


@bp.operation(Route("get", "/readyz", "Readiness: the index is loaded and its store answers.",
                   Health, errors=(503,)))
def readyz() -> tuple[Response, int]:
    """Report whether the index is loaded and its store answers."""
    eng = engine()
    problem = eng.probe()
    if problem:
        return jsonify({"status": "unavailable", "reason": problem}), 503
    retriever = eng.retriever()
    return jsonify(Health(status="ready", documents=retriever.documents,
                          chunks=len(retriever)).model_dump()), 200


@bp.get("/openapi.json")
def openapi() -> Response:
    """Return the OpenAPI document of every documented route the app serves."""
    document = spec(documented(current_app.blueprints), ErrorResponse)
    return jsonify(document_keys(with_limits(document, config()), config()))
