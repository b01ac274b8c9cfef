"""Blueprints that serve each operation from the route its OpenAPI description is made of."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import Blueprint
from pydantic import BaseModel

from index.collections import DEFAULT

View = TypeVar("View", bound=Callable[..., Any])
# Path parameters that may hold a slash (a document id is often a file path).
CONVERTERS = {"document_id": "path"}


@dataclass(frozen=True)
class Route:
    """One documented operation of the API."""

    method: str
    path: str
    summary: str
    response: type[BaseModel]
    body: type[BaseModel] | None = None
    errors: tuple[int, ...] = ()
    streams: bool = False
    events: str = ("Events `citations`, `delta` (text) and `done` (the full answer); `error` "
                   "(`{\"error\": {\"code\", \"message\"}}`) if it fails once begun.")
    defaults: tuple[tuple[str, str], ...] = ()  # view arguments the path does not give

    @property
    def rule(self) -> str:
        """Return the path as a Flask rule: `{name}` becomes `<name>`."""
        return re.sub(r"\{(\w+)\}", lambda m: f"<{CONVERTERS[m[1]]}:{m[1]}>"
                      if m[1] in CONVERTERS else f"<{m[1]}>", self.path)


class DocumentedBlueprint(Blueprint):
    """A blueprint that keeps the OpenAPI description of each operation it serves."""

    def __init__(self, name: str, import_name: str, **kwargs: Any) -> None:
        """Create the blueprint with no documented operations yet."""
        super().__init__(name, import_name, **kwargs)
        self.operations: list[Route] = []

    def operation(self, *routes: Route) -> Callable[[View], View]:
        """Serve the decorated view at each of `routes` and add them to the OpenAPI document."""

        def register(view: View) -> View:
            """Register the view's URL rules and remember their descriptions."""
            for route in routes:
                self.add_url_rule(route.rule, view_func=view, methods=[route.method.upper()],
                                  defaults=dict(route.defaults))
            self.operations.extend(routes)
            return view

        return register


def documented(blueprints: Mapping[str, object]) -> tuple[Route, ...]:
    """Return the operations of every documented blueprint an app registered."""
    return tuple(r for bp in blueprints.values() if isinstance(bp, DocumentedBlueprint)
                 for r in bp.operations)


COLLECTION = "/api/v1/collections/{name}"
READING = (401, 403, 404, 429, 503)


def both(method: str, path: str, summary: str, response: type[BaseModel],
         body: type[BaseModel] | None = None, errors: tuple[int, ...] = READING,
         streams: bool = False) -> tuple[Route, Route]:
    """Return an operation on the default collection (`/api/v1…`) and on a named one.

    `{whose}` in the summary names the collection where one is named.
    """
    return (Route(method, f"/api/v1{path}", summary.format(whose=""), response, body, errors,
                  streams, defaults=(("name", DEFAULT),)),
            Route(method, f"{COLLECTION}{path}", summary.format(whose=" of a collection"),
                  response, body, errors, streams))
