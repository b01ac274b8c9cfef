"""Build the OpenAPI 3.1 document from the documented routes and the pydantic models."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from service import __version__
from service.http.routes import Route


def spec(routes: tuple[Route, ...], error_model: type[BaseModel]) -> dict[str, Any]:
    """Return the OpenAPI document for `routes`."""
    models = {error_model}
    for route in routes:
        models.add(route.response)
        if route.body is not None:
            models.add(route.body)
    ordered = sorted(models, key=lambda m: m.__name__)
    _, schemas = models_json_schema([(m, "validation") for m in ordered],
                                    ref_template="#/components/schemas/{model}")
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        paths.setdefault(route.path, {})[route.method] = _operation(route, error_model)
    return {
        "openapi": "3.1.0",
        "info": {"title": "citeqa", "version": __version__,
                 "description": "Answers only from its documents, with a citation to the exact "
                                "passage for every claim."},
        "paths": paths,
        "components": {"schemas": schemas.get("$defs", {})},
    }


def _ref(model: type[BaseModel]) -> dict[str, str]:
    """Return a reference to a model's schema."""
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _operation(route: Route, error_model: type[BaseModel]) -> dict[str, Any]:
    """Describe one operation."""
    ok_content: dict[str, Any] = {"application/json": {"schema": _ref(route.response)}}
    if route.streams:
        ok_content["text/event-stream"] = {"schema": {"type": "string",
                                                      "description": route.events}}
    op: dict[str, Any] = {
        "summary": route.summary,
        "operationId": route.method + route.path.replace("/", "_").replace("{", "").replace(
            "}", ""),
        "responses": {"200": {"description": "OK", "content": ok_content}},
    }
    for status in route.errors:
        op["responses"][str(status)] = {
            "description": "Error", "content": {"application/json": {"schema": _ref(error_model)}}
        }
    if route.body is not None:
        op["requestBody"] = {"required": True,
                             "content": {"application/json": {"schema": _ref(route.body)}}}
    if "{document_id}" in route.path:
        op["parameters"] = [{"name": "document_id", "in": "path", "required": True,
                             "schema": {"type": "string"}}]
    return op
