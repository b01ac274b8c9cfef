"""The browser side: the chat page `/`, its compact `/embed` twin, `/widget.js` and examples."""

from __future__ import annotations

from flask import Response, current_app, jsonify, render_template, request
from flask_babel import gettext

from index.access import PUBLIC
from index.collections import DEFAULT, About
from service.core.examples import Examples
from service.http.errors import ApiError
from service.http.routes import DocumentedBlueprint, both
from service.http.schemas import ExampleList
from service.security import callers, keys, origins, widget_token
from service.web import i18n
from service.web.context import (
    check_scope,
    config,
    known_collection,
    library,
    reader_access,
    ready_engine,
    valid_name,
)

bp = DocumentedBlueprint("pages", __name__)


def page_collection(name: str, allowed: bool) -> str:
    """Return the collection a page is for; to a caller who may not use the API, say nothing.

    Without a way to use the API (keys required, no key, no user token, no public chat) the
    page is the same whether or not the collection exists; otherwise the caller's scope is
    checked before the collection's existence, as the API does.
    """
    if not allowed:
        return valid_name(name)
    check_scope(name)
    return known_collection(name)


def chat_page(embedded: bool) -> Response:
    """Render the chat, with a fresh token bound to its (embedding) origin if the caller may."""
    cfg = config()
    allowed = callers.may_hold_token(cfg)
    bound = origins.embedder_origin(cfg) if embedded else origins.self_origin(cfg)
    named = request.args.get("collection", "")
    try:
        collection = page_collection(named or DEFAULT, allowed)
    except ApiError as exc:  # a misspelt data-collection: say so, never answer from another
        if exc.status != 404:
            raise
        return page("unavailable.html", embedded, status=404, parent=bound, name=named[:60])
    token = widget_token.issue(widget_token.secret(cfg), bound,
                               keys.caller_scope()) if allowed else ""
    return page("chat.html", embedded, token=token, token_ttl=widget_token.TTL_SECONDS,
                parent=bound, collection="" if collection == DEFAULT else collection,
                title=(request.args.get("title", "")[:60] if embedded else "")
                or (collection_title(collection) if allowed else ""),
                closable=embedded and request.args.get("launcher") == "1",
                corpus=corpus_titles(collection) if allowed else "")


def page(template: str, embedded: bool, status: int = 200, **values: object) -> Response:
    """Render a page in the theme asked for (`?theme=light|dark`, else the system's)."""
    theme = request.args.get("theme", "")
    html = render_template(template, embedded=embedded,
                           theme=theme if theme in ("light", "dark") else "", **values)
    response = Response(html, status=status, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return origins.secure_page(response, config(), embeddable=embedded)


def collection_title(collection: str) -> str:
    """Return the title its owner gave a collection, else its name ("" for the default)."""
    if collection == DEFAULT:
        return ""
    try:
        about = library().described().get(collection)
    except Exception:  # a page must render even when the store is briefly unreachable
        about = None
    return about.title if about and about.title else collection


def corpus_titles(collection: str) -> str:
    """Name the first public documents for the page's subtitle ("" when unavailable)."""
    eng = library().engine(collection)
    if eng.status:
        return ""
    try:
        docs = eng.documents(PUBLIC)
    except Exception:  # a page must render even when the store is briefly unreachable
        return ""
    titles = ", ".join(d.title for d in docs[:2])
    if len(docs) <= 2:
        return titles
    return str(gettext("%(titles)s and %(n)s more", titles=titles, n=len(docs) - 2))


@bp.get("/")
def chat() -> Response:
    """Serve the full-page chat."""
    return chat_page(embedded=False)


@bp.get("/embed")
def embed() -> Response:
    """Serve the compact chat that portals frame (only portals on the allow-list)."""
    return chat_page(embedded=True)


@bp.get("/collections/<name>/documents")
def documents_page(name: str) -> Response:
    """Serve the owners' page that uploads, lists and deletes a collection's documents."""
    try:
        collection = page_collection(name, callers.may_hold_token(config()))
    except ApiError as exc:
        if exc.status != 404:
            raise
        return page("unavailable.html", False, status=404, name=name[:60])
    return page("documents.html", False, collection=collection)


@bp.get("/widget.js")
def widget() -> Response:
    """Serve the launcher script that portals paste into their pages."""
    response = Response(render_template("widget.js", strings=i18n.every_language("widget")),
                        mimetype="text/javascript")
    response.headers["Cache-Control"] = "public, max-age=300"
    return origins.share_script(response)


@bp.post("/widget-token")
def refresh_token() -> Response:
    """Renew a valid token (same origin), or mint one for a caller with a key or user token."""
    cfg = config()
    if not callers.may_hold_token(cfg):
        raise ApiError(401, "a page token needs an API key or a portal user token",
                       "unauthorized")
    held = widget_token.verify(widget_token.secret(cfg),
                               request.headers.get(widget_token.HEADER, ""))
    if held is None and callers.identified(cfg):  # a key's token reads what the key may
        held = widget_token.PageToken(origins.embedder_origin(cfg), keys.caller_scope())
    if held is None:
        raise ApiError(401, "the page's token expired; reload the page", "token_expired")
    return jsonify({"token": widget_token.issue(widget_token.secret(cfg), held.origin,
                                                held.collections),
                    "expires_in": widget_token.TTL_SECONDS})


@bp.operation(*both("get", "/examples", "Example questions the index{whose} answers.",
                   ExampleList))
def examples(name: str) -> Response:
    """Return example questions the loaded index answers for this reader."""
    found: Examples = current_app.extensions.setdefault("citeqa.examples", Examples())
    engine = ready_engine(name)
    own = library().described().get(name, About()).examples if name != DEFAULT else ()
    return jsonify(ExampleList(examples=found.get(engine, reader_access(), own)).model_dump())

