"""Import a web site into a collection through the API, in the background.

    POST /api/v1/collections/hr/import {"url": "https://intranet.example/hr/"}  (admin) → 202
    GET  /api/v1/collections/hr/documents/import:https://intranet.example/hr/  → its status

The import is a job in the upload queue, so it survives a restart, runs one writer at a time
per collection, and shows `queued`, `indexing`, `ready` or `failed` with the reason.
"""

from __future__ import annotations

from urllib.parse import quote

from flask import Response, jsonify

from index.access import GroupError, clean_groups, split_groups
from index.crawl import Crawler, CrawlError
from index.webimport import job_body
from service.http.errors import ApiError
from service.http.routes import DocumentedBlueprint, Route
from service.http.schemas import SiteImportRequest, UploadAccepted
from service.web.context import config, library, parse, require_admin
from service.web.manage import enqueue, queue

bp = DocumentedBlueprint("imports", __name__)
JOB_PREFIX = "import:"


@bp.operation(Route("post", "/api/v1/collections/{name}/import", "Import a web site into the "
                   "collection in the background (admin): robots.txt, sitemaps and links of one "
                   "site; follow the job at the returned Location.", UploadAccepted,
                   SiteImportRequest, (400, 401, 403, 404, 415, 429)))
def import_site(name: str) -> tuple[Response, int]:
    """Queue the import of a web site into a collection."""
    require_admin(name)
    if name not in library().names(fresh=True):
        raise ApiError(404, f"no collection named {name!r}", "unknown_collection")
    req = parse(SiteImportRequest)
    cfg = config()
    limits = cfg.crawl_limits(min(req.max_pages or cfg.import_max_pages, cfg.import_max_pages),
                              req.max_depth)
    try:
        start = Crawler(req.url, limits).start
        groups = clean_groups(split_groups(req.groups))
    except (CrawlError, GroupError) as exc:
        raise ApiError(400, str(exc), "invalid_import") from exc
    job = queue().put(name, JOB_PREFIX + start, start, f"Import of {start}", groups,
                      job_body(start, limits), action="import")
    enqueue(job)
    response = jsonify(UploadAccepted(id=job.id, status=job.status).model_dump())
    response.headers["Location"] = (f"/api/v1/collections/{name}/documents/"
                                    f"{quote(job.id, safe='')}")
    return response, 202
