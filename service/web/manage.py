"""Collections and their documents without a shell: create, upload, replace, delete, status.

    POST /api/v1/collections {"name": "hr"}                          (admin) → 201
    POST /api/v1/collections/hr/documents  file=@a.pdf title=… groups=hr,legal  → 202 {id, status}
    GET  /api/v1/collections/hr/documents/<id>                       → the document and status
"""

from __future__ import annotations

import logging
import re
import secrets
from pathlib import Path

from flask import Response, jsonify, request

from index import access, collections
from index.access import GroupError, clean_groups, split_groups
from index.documents import SUFFIXES
from index.uploads import Queue, Upload
from service.core.engine import UnknownDocument
from service.http.errors import ApiError
from service.http.openai_schemas import model_id
from service.http.routes import DocumentedBlueprint, Route
from service.http.schemas import (
    CollectionCreate,
    CollectionInfo,
    CollectionList,
    DocumentDetail,
    DocumentList,
    DocumentSummary,
    TextUpload,
    UploadAccepted,
)
from service.ingest import jobs
from service.web import convert
from service.web.context import (
    config,
    document_access,
    is_admin,
    known_collection,
    library,
    parse,
    ready_engine,
    require_admin,
    visible_collections,
)

bp = DocumentedBlueprint("manage", __name__)
log = logging.getLogger("citeqa")
DOCS = "/api/v1/collections/{name}/documents"
_SLUG = re.compile(r"[^a-z0-9]+")
# the id is not repeated: an error must not even echo a restricted document's id
NO_DOCUMENT = "no such document (or not one you may read)"
PLAIN_REASON = "it could not be indexed; an administrator can see why"
SITE_IMPORT = "Site import"


def queue() -> Queue:
    """Return the upload queue in the data folder."""
    return Queue.in_folder(config().data_dir)


def enqueue(upload: Upload) -> None:
    """Tell the ingest workers (their own processes) that the upload's collection has work."""
    try:
        jobs.enqueue(config(), upload.collection)
    except Exception:  # Redis or the queue file is down: the job is already kept, and a
        # worker sends a message for every collection with waiting work when it is idle
        log.warning("could not queue a message for %s", upload.collection, exc_info=True)


def _summary(upload: Upload, admin: bool = True) -> DocumentSummary:
    """Describe an upload that is not (or no longer) ready, as the caller may see it.

    Its groups, an import's address and why it failed are shown to admins only: an import's
    error names internal addresses and network failures; a reader gets a plain reason.
    """
    title = upload.title or Path(upload.filename).stem
    reason = upload.reason
    if not admin:
        title = SITE_IMPORT if upload.action == "import" else title
        reason = PLAIN_REASON if reason else ""
    return DocumentSummary(id=upload.id, title=title, length=0,
                           status=upload.status,  # type: ignore[arg-type]
                           reason=reason, progress=upload.progress,
                           groups=list(upload.groups) if admin else [])


def _pending(name: str, document_id: str) -> Upload | None:
    """Return the queued upload with this id if the caller may read it once indexed."""
    upload = queue().get(name, document_id)
    if upload is None or not document_access().allows(access.metadata(upload.groups)):
        return None
    return upload


def listing(name: str) -> DocumentList:
    """Return the documents a caller may see; an admin also sees those not ready."""
    eng = ready_engine(name)
    found = {d.id: convert.summary(d, groups=is_admin())
             for d in eng.documents(document_access())}
    if is_admin():
        for upload in queue().listed(name):
            if upload.status != "ready" or upload.action == "import":  # an import's report
                found[upload.id] = _summary(upload)
    return DocumentList(documents=[found[k] for k in sorted(found)])


def detail(name: str, document_id: str) -> DocumentDetail:
    """Return one document with its text and status; a pending one to those who may read it."""
    eng = ready_engine(name)
    upload = _pending(name, document_id)
    if upload is not None and upload.status != "ready":
        return DocumentDetail(**_summary(upload, is_admin()).model_dump(), text="")
    try:
        return convert.document(eng.document(document_id, document_access()), is_admin())
    except UnknownDocument:
        if upload is not None:  # ready in the queue, not yet loaded by this process
            return DocumentDetail(**_summary(upload, is_admin()).model_dump(), text="")
        raise


@bp.operation(Route("get", "/api/v1/collections", "List the collections the caller may use.",
                   CollectionList, errors=(401, 429, 503)))
def list_collections() -> Response:
    """List the collections this key may use, with what their owners say of them."""
    about = library().described()
    return jsonify(CollectionList(collections=[info(n, about.get(n))
                                               for n in visible_collections(fresh=True)])
                   .model_dump())


def info(name: str, about: collections.About | None = None) -> CollectionInfo:
    """Describe a collection as the API sends it."""
    about = about or collections.About()
    return CollectionInfo(name=name, model=model_id(name), title=about.title,
                          description=about.description, groups=list(about.groups),
                          examples=list(about.examples))


@bp.operation(Route("post", "/api/v1/collections", "Create a collection (admin).",
                   CollectionInfo, CollectionCreate, (400, 401, 403, 409, 415, 429, 503)))
def create_collection() -> tuple[Response, int]:
    """Create an empty collection."""
    req = parse(CollectionCreate)
    require_admin(req.name)
    about = collections.About(req.title.strip(), req.description.strip(), groups_from(req.groups),
                              examples_from(req.examples))
    try:
        library().create(req.name, about)
    except collections.CollectionError as exc:
        status = 409 if "already exists" in str(exc) else 400
        raise ApiError(status, str(exc), "collection_exists" if status == 409
                       else "invalid_collection") from exc
    return jsonify(info(req.name, about).model_dump()), 201


@bp.operation(Route("delete", "/api/v1/collections/{name}",
                   "Delete a collection and its index (admin).", CollectionInfo,
                   errors=(400, 401, 403, 404, 429, 503)))
def delete_collection(name: str) -> Response:
    """Delete a collection, its index and its queued uploads."""
    require_admin(name)
    try:
        library().delete(name)
    except collections.CollectionError as exc:
        status = 404 if "no collection" in str(exc) else 400
        raise ApiError(status, str(exc)) from exc
    queue().drop_collection(name)
    return jsonify(CollectionInfo(name=name, model=model_id(name)).model_dump())


def groups_from(given: list[str] | str) -> tuple[str, ...]:
    """Return the access groups of an upload, or raise 400."""
    try:
        return clean_groups(split_groups(given))
    except GroupError as exc:
        raise ApiError(400, str(exc), "invalid_groups") from exc


def examples_from(given: list[str]) -> tuple[str, ...]:
    """Return a collection's example questions, or raise 400 for a blank or over-long one."""
    limit = config().max_question_chars
    for question in given:
        if not question.strip():
            raise ApiError(400, "an example question is empty", "invalid_examples")
        if len(question.strip()) > limit:
            raise ApiError(400, f"an example question is over {limit} characters",
                           "invalid_examples")
    return tuple(q.strip() for q in given)


def _received() -> tuple[str, str, tuple[str, ...], bytes]:
    """Read an upload (multipart file or JSON text): filename, title, groups and bytes."""
    limit = config().max_upload_bytes
    if request.is_json:
        req = parse(TextUpload, limit)
        return ("text.md", req.title.strip(), groups_from(req.groups),
                req.text.encode("utf-8"))
    if request.mimetype != "multipart/form-data":
        raise ApiError(415, "send the document as multipart/form-data (field `file`) or as "
                            "JSON {\"text\", \"title\"}")
    file = request.files.get("file")
    if file is None or not file.filename:
        raise ApiError(400, "the form has no `file` field with a file", "missing_file")
    suffix = Path(file.filename).suffix.lower()
    if suffix not in SUFFIXES:
        raise ApiError(415, f"cannot index {suffix or 'files without an extension'}: send "
                            f"{', '.join(SUFFIXES)}", "unsupported_file_type")
    body = file.read(limit + 1)
    if len(body) > limit:
        raise ApiError(413, f"the file is over {limit} bytes")
    if not body.strip():
        raise ApiError(400, "the file is empty", "empty_file")
    title = request.form.get("title", "").strip()[:300]
    return Path(file.filename).name[:200], title, groups_from(request.form.get("groups", "")), body


def accepted(upload: Upload, status: int) -> tuple[Response, int]:
    """Answer that an upload waits in the queue, and tell the ingest workers."""
    enqueue(upload)
    response = jsonify(UploadAccepted(id=upload.id, status=upload.status).model_dump())
    response.headers["Location"] = f"/api/v1/collections/{upload.collection}/documents/" \
                                   f"{upload.id}"
    return response, status


def _new_id(filename: str) -> str:
    """Return a fresh document id that reads like the file's name."""
    stem = _SLUG.sub("-", Path(filename).stem.lower()).strip("-")[:40] or "document"
    return f"{stem}-{secrets.token_hex(4)}"


@bp.operation(Route("post", DOCS, "Upload a document (multipart `file`, `title`, `groups`, "
                   "and `replace=same-name` to replace the document last uploaded under the "
                   "file's name; or JSON `text`, `title`, `groups`) to index in the background "
                   "(admin).", UploadAccepted, TextUpload, (400, 401, 403, 404, 413, 415, 429)))
def upload(name: str) -> tuple[Response, int]:
    """Queue a new document for indexing (or a new version of the one of the same file name)."""
    require_admin(name)
    known_collection(name)
    filename, title, groups, body = _received()
    same = [u.id for u in queue().listed(name) if u.filename == filename and u.action == "index"
            and u.status != "deleting"] if request.form.get("replace") == "same-name" else []
    doc_id = same[-1] if same else _new_id(filename)
    return accepted(queue().put(name, doc_id, filename, title, groups, body), 202)


def _exists(name: str, document_id: str) -> None:
    """Raise 404 unless the collection holds (or has queued) the document."""
    if queue().get(name, document_id) is not None:
        return
    try:
        ready_engine(name).document(document_id, document_access())
    except UnknownDocument as exc:
        raise ApiError(404, NO_DOCUMENT, "unknown_document") from exc


@bp.operation(Route("put", DOCS + "/{document_id}", "Replace a document (admin).",
                   UploadAccepted, TextUpload, (400, 401, 403, 404, 413, 415, 429)))
def replace_document(name: str, document_id: str) -> tuple[Response, int]:
    """Queue a new version of a document."""
    require_admin(name)
    known_collection(name)
    _exists(name, document_id)
    filename, title, groups, body = _received()
    return accepted(queue().put(name, document_id, filename, title, groups, body), 202)


@bp.operation(Route("delete", DOCS + "/{document_id}", "Remove a document (admin).",
                   UploadAccepted, errors=(401, 403, 404, 429)))
def delete_document(name: str, document_id: str) -> tuple[Response, int]:
    """Queue a document's removal."""
    require_admin(name)
    known_collection(name)
    _exists(name, document_id)
    return accepted(queue().remove(name, document_id), 202)
