"""Blueprints that describe their own operations, so the OpenAPI document lists what is served."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import Blueprint
from pydantic import BaseModel


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


class DocumentedBlueprint(Blueprint):
    """A blueprint that keeps the OpenAPI description of each operation it serves."""

    def __init__(self, name: str, import_name: str, **kwargs: Any) -> None:
        """Create the blueprint with no documented operations yet."""
        super().__init__(name, import_name, **kwargs)
        self.operations: list[Route] = []

    def document(self, *routes: Route) -> None:
        """Add operations to the OpenAPI document."""
        self.operations.extend(routes)


def documented(blueprints: Mapping[str, object]) -> tuple[Route, ...]:
    """Return the operations of every documented blueprint an app registered."""
    return tuple(r for bp in blueprints.values() if isinstance(bp, DocumentedBlueprint)
                 for r in bp.operations)
