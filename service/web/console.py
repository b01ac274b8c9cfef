"""The owners' console at `/console`: one page over the collections API, and what it needs
beyond it: a check of the admin key as it is entered, and a document's title and groups edited.

    GET   /api/v1/admin                                         (admin) → {"admin": true}
    PATCH /api/v1/collections/hr/documents/<id> {"groups": "hr"} (admin) → 202, indexed again
    PATCH /api/v1/collections/hr {"examples": ["Who approves leave?"]} (admin) → the collection
"""

from __future__ import annotations

from flask import Response, jsonify

from index import collections
from service.http.errors import ApiError
from service.http.routes import DocumentedBlueprint, Route
from service.http.schemas import (
    AdminCheck,
    CollectionEdit,
    CollectionInfo,
    DocumentEdit,
    UploadAccepted,
)
from service.web import pages
from service.web.context import config, known_collection, library, parse, require_admin
from service.web.manage import DOCS, accepted, examples_from, groups_from, info, queue

bp = DocumentedBlueprint("console", __name__)


@bp.get("/console")
def console() -> Response:
    """Serve the owners' console (the page asks for the admin key before it shows anything)."""
    return pages.page("console.html", False, admin_keys=bool(config().admin_keys))


@bp.operation(Route("get", "/api/v1/admin", "Check an admin key (the console asks before it "
                    "shows anything).", AdminCheck, errors=(401, 403, 429)))
def check_admin() -> Response:
    """Answer whether the caller's key may manage collections."""
    require_admin()
    return jsonify(AdminCheck().model_dump())


@bp.operation(Route("patch", DOCS + "/{document_id}", "Change an uploaded document's title or "
                    "groups (admin); it is indexed again.", UploadAccepted, DocumentEdit,
                    (400, 401, 403, 404, 409, 415, 429)))
def edit_document(name: str, document_id: str) -> tuple[Response, int]:
    """Queue an uploaded document again under a new title or new groups."""
    require_admin(name)
    known_collection(name)
    req = parse(DocumentEdit)
    upload, body = queue().get(name, document_id), queue().body(name, document_id)
    if upload is None or body is None:
        raise ApiError(404, "no uploaded document with this id (documents indexed from the "
                            "corpus folder change there)", "unknown_document")
    if upload.status in ("queued", "indexing", "deleting"):
        raise ApiError(409, f"the document is {upload.status}; edit it once that is done",
                       "document_busy")
    title = upload.title if req.title is None else req.title.strip()
    groups = upload.groups if req.groups is None else groups_from(req.groups)
    return accepted(queue().put(name, document_id, upload.filename, title, groups, body), 202)


@bp.operation(Route("patch", "/api/v1/collections/{name}", "Change a collection's title, "
                    "description, proposed groups or example questions (admin).",
                    CollectionInfo, CollectionEdit, (400, 401, 403, 404, 415, 429, 503)))
def edit_collection(name: str) -> Response:
    """Replace what the owner says of a collection; fields left out are kept."""
    require_admin(name)
    known_collection(name)
    if name == collections.DEFAULT:
        raise ApiError(400, "the default collection is described by the operator's settings",
                       "invalid_collection")
    req = parse(CollectionEdit)
    was = library().described().get(name, collections.About())
    about = collections.About(
        was.title if req.title is None else req.title.strip(),
        was.description if req.description is None else req.description.strip(),
        was.groups if req.groups is None else groups_from(req.groups),
        was.examples if req.examples is None else examples_from(req.examples))
    library().describe(name, about)
    return jsonify(info(name, about).model_dump())
